-- The store: what an ingest writes. Created on first use; every statement is idempotent.
-- Times are kept as integer days (`*_day`) per patient so that exports with real dates and exports
-- with day offsets behave alike; a dated row's day is days since 1970-01-01 and its date is kept too.

create sequence if not exists batch_ids start 1;

-- One row per ingest of one file that was not refused.
create table if not exists batches (
    batch_id integer primary key,
    file_name varchar not null,
    sha256 varchar not null,
    kind varchar not null,
    rows_read integer not null,
    rows_inserted integer not null,
    rows_replaced integer not null,
    rows_duplicate integer not null,
    rows_rejected integer not null,
    columns_ignored varchar[],
    date_style varchar,
    loaded_at timestamp not null,
);

-- One row per patient: the optional patients export.
create table if not exists patients (
    patient_id varchar not null,
    age_band varchar,
    sex varchar,
    primary_indication varchar,
    site varchar,
    ethnicity varchar,  -- a term of the clinic's ethnicity vocabulary, or 'other'
    deprivation_decile integer,  -- the area deprivation decile of the patient's home, 1 (most) to 10
    batch_id integer not null,
    line_number integer not null,
    source_hash hugeint,  -- the export line it came from (ingest: a line seen before is not staged again)
);

-- One row per scheduled treatment session. Natural key: patient_id, session_day, session_id.
create table if not exists sessions (
    patient_id varchar not null,
    session_day integer not null,
    session_date date,
    session_id varchar not null,
    route varchar not null,
    status varchar not null,
    dose_mg double,
    dose_mg_per_kg double,
    site varchar,
    clinician_id varchar,
    adverse_events varchar[] not null,
    systolic_bp_peak integer,
    systolic_bp_pre integer,  -- mmHg before dosing
    diastolic_bp_pre integer,
    diastolic_bp_peak integer,
    batch_id integer not null,
    line_number integer not null,
    source_hash hugeint,  -- the export line it came from (ingest: a line seen before is not staged again)
);

-- One row per questionnaire administration. Natural key: patient_id, instrument, assessment_day.
create table if not exists assessments (
    patient_id varchar not null,
    instrument varchar not null,
    assessment_day integer not null,
    assessment_date date,
    score integer not null,
    item9 integer,
    batch_id integer not null,
    line_number integer not null,
    source_hash hugeint,  -- the export line it came from (ingest: a line seen before is not staged again)
);

-- Present in a database whose writing transactions take turns (store.WRITING), so each natural key of
-- patients, sessions and assessments is stored once. A database without it was written by an earlier
-- version: store.remove_rows_stored_twice checks it first.
create table if not exists keys_kept_unique (since timestamp default current_timestamp);

-- Patients whose stored rows changed since the metric tables were last built: written in the ingest's or
-- undo's transaction, so the next build (metrics.build) recomputes only their series, and of those
-- only the metric tables that read the changed table (`source`: sessions, assessments or patients).
create table if not exists stale_patients (
    patient_id varchar not null,
    source varchar,
);

-- One row per problem with a line that was not stored.
create table if not exists rejects (
    batch_id integer not null,
    line_number integer not null,
    column_name varchar,
    value varchar,
    reason varchar not null,
);

-- One row per optional field of a stored line that could not be read (the field is stored empty), or a
-- stored line's sibling that lost to it (a cancelled line beside a completed one on the same day).
create table if not exists warnings (
    batch_id integer not null,
    line_number integer not null,
    column_name varchar,
    value varchar,
    reason varchar not null,
);

-- Named column mappings for exports whose headers the contract does not know: the header (as the
-- file writes it) -> the contract column, for one export kind.
create table if not exists column_mappings (
    name varchar not null,
    kind varchar not null,
    header varchar not null,
    column_name varchar not null,
    saved_at timestamp not null,
    primary key (name, header),
);

-- Terms a clinic adds to the vocabulary of a free-text field (an indication, an adverse event, an
-- ethnicity), saved with a column mapping: staging reads them as it reads the built-in terms (`aliases`).
-- Anything else in such a field is stored as 'other', its text not kept.
create table if not exists vocabulary_terms (
    mapping_name varchar not null,
    column_name varchar not null,
    term varchar not null,
    saved_at timestamp not null,
    primary key (mapping_name, column_name, term),
);

-- One row per stored row that a later export replaced with different values.
create table if not exists replacements (
    batch_id integer not null,
    line_number integer not null,
    kind varchar not null,
    natural_key json not null,
    old_values json not null,
    new_values json not null,
);

-- One row per thing a person did that a clinic must be able to account for: signing in, being refused
-- a page, uploading, downloading, changing a setting, exporting a report. Times are UTC.
create table if not exists audit_log (
    logged_at timestamp not null,
    email varchar not null,
    role varchar not null,
    action varchar not null,
    detail varchar,
);

-- One row per follow-up a director or analyst recorded for a PHQ-9 item 9 flag (the flagged assessment:
-- patient_id and assessment_day), from a fixed list of outcomes (follow_up.OUTCOMES): no free text, which
-- would carry identifiers. A flag's latest row is its state; its audit_log row is written in the same transaction.
create table if not exists item9_follow_ups (
    patient_id varchar not null,
    assessment_day integer not null,
    outcome varchar not null check (outcome in ('contacted', 'safety plan reviewed', 'escalated', 'no action needed')),
    recorded_by varchar not null,
    role varchar not null,
    recorded_at timestamp not null,
);

create sequence if not exists chart_note_ids start 1;

-- One row per process change a director or analyst recorded ("new dosing protocol" from 2025-03-01): the
-- p-chart marks it and, with recalculate_limits, computes its limits again from that date (NHS Making Data
-- Count); trajectories and the meeting pack list it. The label is the clinic's text (chart_notes.py refuses
-- one that looks like an identifier). removed_at: taken back (kept, as the audit trail is).
create table if not exists chart_notes (
    note_id integer not null default nextval('chart_note_ids'),
    change_date date not null,
    label varchar not null check (length(label) between 1 and 60),
    recalculate_limits boolean not null,
    recorded_by varchar not null,
    role varchar not null,
    recorded_at timestamp not null,
    removed_at timestamp,
);

-- Added after the first release: databases built before them gain the columns on open.
alter table batches add column if not exists rows_with_warnings integer;
alter table batches add column if not exists source varchar;  -- how the file was read: encoding, sheet
alter table batches add column if not exists undone_at timestamp;
-- Columns added to `sessions` later (pre-dose and diastolic blood pressure) are added to an older
-- database by store.add_new_columns, after store.initialise has dropped the unique index such a database
-- may hold (DuckDB alters no indexed table), which SQL here cannot decide.
