-- Forget a travel day: its runs count by the stored day policy again.
DELETE FROM travel_days
WHERE day = $day;
