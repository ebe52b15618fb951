-- Temporary (in-memory, never persisted) S3 secret for httpfs, scoped to one bucket.
-- Every value is a bound parameter: credentials are never spliced into SQL text.
CREATE OR REPLACE TEMPORARY SECRET myrunstreak_s3 (
    TYPE s3,
    KEY_ID $key_id,
    SECRET $secret,
    SESSION_TOKEN $session_token,
    REGION $region,
    ENDPOINT $endpoint,
    URL_STYLE $url_style,
    USE_SSL $use_ssl,
    SCOPE $scope
);
