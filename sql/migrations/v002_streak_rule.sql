-- v002: the configured streak rule, stored in the database so plain views (and read-only readers such as
-- `myrunstreak streak`) follow the rule the writer used. Exactly one row (id = 1); the writer replaces it
-- from MYRUNSTREAK_STREAK_MIN_KM / MYRUNSTREAK_STREAK_MODE via analytics.set_streak_rule().

CREATE TABLE IF NOT EXISTS streak_rule (
    id         INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),  -- one row only
    min_km     DOUBLE NOT NULL CHECK (min_km > 0 AND isfinite(min_km)),
    mode       VARCHAR NOT NULL CHECK (mode IN ('sum', 'strict')),
    updated_at TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP
);

-- Default: one international mile (1,609.344 m, exact), summed over the local day (SRI/USRSA wording).
INSERT INTO streak_rule (id, min_km, mode) VALUES (1, 1.609344, 'sum') ON CONFLICT DO NOTHING;
