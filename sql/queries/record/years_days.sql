-- "X years Y days" of a streak from $first_day to $last_day (the USRSA form, streak-rules §1.4).
SELECT years_days($first_day, $last_day) AS years_days;
