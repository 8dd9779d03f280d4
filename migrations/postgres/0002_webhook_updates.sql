-- nudge's records in PostgreSQL, schema 2: the Telegram updates a webhook claimed and handled,
-- so each is handled once even when Telegram posts it again, to this instance or another
-- sharing the database. No learner's data (an update id and times), so not in backups,
-- exports or erasure; swept by claim time.

CREATE TABLE webhook_updates (
    update_id  bigint      PRIMARY KEY,
    -- When the current claim was made: one older than the webhook's expiry may be taken over.
    claimed_at timestamptz NOT NULL,
    -- The server process of the session that claimed it: while that session lives the claim
    -- holds until it expires; once it is gone (the instance died) it is taken over at once.
    claimer    integer     NOT NULL DEFAULT 0,
    done       boolean     NOT NULL DEFAULT false
);
CREATE INDEX webhook_updates_claimed ON webhook_updates (claimed_at);
