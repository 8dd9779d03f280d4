-- nudge's records in PostgreSQL, schema 1. Every table keyed by the learner (a Telegram user id)
-- starts its primary key with `learner`; `record` holds the exact JSON the sled engine stores
-- (deliveries and answers: the model JSON, times to the millisecond), so that backups restore
-- into either engine byte for byte. The other columns are for constraints, queries and people
-- reading the tables with psql.

CREATE SEQUENCE delivery_numbers AS bigint MINVALUE 1;

CREATE TABLE learners (
    id            bigint      PRIMARY KEY,
    cohort        text        NOT NULL,
    name          text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('active', 'paused', 'inactive', 'erasing')),
    -- The erasure mark: set while a learner's records are being erased.
    erasing_since timestamptz CHECK ((status = 'erasing') = (erasing_since IS NOT NULL)),
    enrolled_at   timestamptz NOT NULL,
    record        json        NOT NULL
);
CREATE INDEX learners_being_erased ON learners (id) WHERE status = 'erasing';

CREATE TABLE leads (
    id        bigint      PRIMARY KEY,
    name      text        NOT NULL,
    joined_at timestamptz NOT NULL,
    record    json        NOT NULL
);

CREATE TABLE deliveries (
    learner     bigint      NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 0),
    cohort      text        NOT NULL,
    created     timestamptz NOT NULL,
    slot        text,
    purpose     text        NOT NULL,
    item        text,
    state       text        NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    message_id  bigint      CHECK ((state = 'sent') = (message_id IS NOT NULL)),
    finished_at timestamptz CHECK ((state = 'pending') = (finished_at IS NULL)),
    record      json        NOT NULL,
    PRIMARY KEY (learner, seq)
);
CREATE INDEX deliveries_finished ON deliveries (finished_at);

-- No foreign key to `deliveries`: retention may drop a delivery and keep a later answer to it.
CREATE TABLE answers (
    learner    bigint      NOT NULL,
    seq        bigint      NOT NULL CHECK (seq >= 0),
    part       bigint      NOT NULL CHECK (part >= 0),
    cohort     text        NOT NULL,
    item       text        NOT NULL,
    at         timestamptz NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('quiz', 'reflect', 'practice', 'practice_note')),
    choice     integer     CHECK ((kind = 'quiz') = (choice IS NOT NULL)),
    correct    boolean     CHECK ((kind = 'quiz') = (correct IS NOT NULL)),
    review     boolean,
    confidence text        CHECK (confidence IN ('sure', 'not_sure')),
    question   integer,
    outcome    text,
    -- What a learner wrote: a reflection or a practice note.
    text       text,
    shared     boolean,
    record     json        NOT NULL,
    PRIMARY KEY (learner, seq, part)
);
CREATE INDEX answers_at ON answers (at);

CREATE TABLE outbox (
    learner bigint NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (learner, seq),
    FOREIGN KEY (learner, seq) REFERENCES deliveries ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

-- Which delivery a Telegram message in the learner's chat is.
CREATE TABLE messages (
    learner    bigint NOT NULL,
    message_id bigint NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (learner, message_id),
    FOREIGN KEY (learner, seq) REFERENCES deliveries ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

-- One prompt per learner and slot: the primary key refuses a second claim.
CREATE TABLE slot_claims (
    learner    bigint      NOT NULL,
    cohort     text        NOT NULL CHECK (position('@' in cohort) = 0),
    slot_key   text        NOT NULL,
    claimed_at timestamptz,
    record     json        NOT NULL,
    PRIMARY KEY (learner, cohort, slot_key)
);
CREATE INDEX slot_claims_claimed ON slot_claims (claimed_at);

-- Each learner's next nudge, at most one; `due` in whole seconds since 1970 as the scheduler
-- reads it.
CREATE TABLE agenda (
    learner bigint      PRIMARY KEY
                        REFERENCES learners ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    due     bigint      NOT NULL CHECK (due >= 0),
    due_at  timestamptz GENERATED ALWAYS AS (to_timestamp(due::double precision)) STORED,
    record  json        NOT NULL
);
CREATE INDEX agenda_due ON agenda (due, learner);

CREATE TABLE notes (
    learner bigint      NOT NULL,
    seq     bigint      NOT NULL CHECK (seq >= 0),
    cohort  text        NOT NULL,
    at      timestamptz NOT NULL,
    kind    text        NOT NULL CHECK (kind IN ('idea', 'team_answer')),
    text    text        NOT NULL,
    shared  boolean     NOT NULL,
    record  json        NOT NULL,
    PRIMARY KEY (learner, seq)
);
CREATE INDEX notes_at ON notes (at);

CREATE TABLE cohort_states (
    cohort text PRIMARY KEY,
    record json NOT NULL
);

CREATE TABLE pack_tuning (
    pack      text        PRIMARY KEY,
    fitted_on bigint      NOT NULL,
    reviews   bigint      NOT NULL,
    fitted_at timestamptz NOT NULL,
    record    json        NOT NULL
);

CREATE TABLE update_offset (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    value     bigint  NOT NULL
);

CREATE TABLE report_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key       bytea   NOT NULL CHECK (length(key) > 0)
);

-- Whatever else the sled engine keeps in its `meta` tree, as its key and value bytes, so that
-- a backup with keys this build does not know still restores and backs up unchanged.
CREATE TABLE meta (
    key   bytea PRIMARY KEY,
    value bytea NOT NULL
);
