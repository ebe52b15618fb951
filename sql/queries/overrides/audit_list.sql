-- Every change to the overrides, in the order they were made.
SELECT
    audit_id,
    action,
    day,
    km,
    reason,
    done_by,
    done_at
FROM override_audit
ORDER BY audit_id;
