-- Small rules shared by the staging and metric queries, created in the database at start-up.

-- How a header or coded value is compared (same as definitions.alias_key).
create or replace macro alias_key(v) as regexp_replace(lower(v), '[^a-z0-9]', '', 'g');

-- Empty and blank cells are missing values. Bidi controls (Unicode Bidi_Control: U+061C, U+200E-U+200F,
-- U+202A-U+202E, U+2066-U+2069) are dropped: they would display a site or an id reversed or disguised
-- (an override shows "ediS htroN" as North Side). Only a value with a non-ASCII character
-- (more bytes than characters) is searched, which costs nearly nothing.
create or replace macro clean(v) as nullif(trim(case when strlen(v) = length(v) then v else translate(v,
    chr(1564) || chr(8206) || chr(8207) || chr(8234) || chr(8235) || chr(8236) || chr(8237) || chr(8238)
    || chr(8294) || chr(8295) || chr(8296) || chr(8297), '') end), '');

-- ISO YYYY-MM-DD; MM/DD/YYYY only when style = 'us', DD/MM/YYYY only when style = 'dmy'. A time after
-- any of them is ignored.
create or replace macro parse_date(v, style) as case
    when regexp_matches(v, '^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$')
        then try_strptime(regexp_extract(v, '^\d{4}-\d{1,2}-\d{1,2}'), '%Y-%m-%d')::date
    when style = 'us' and regexp_matches(v, '^\d{1,2}/\d{1,2}/\d{4}([ T].*)?$')
        then try_strptime(regexp_extract(v, '^\d{1,2}/\d{1,2}/\d{4}'), '%m/%d/%Y')::date
    when style = 'dmy' and regexp_matches(v, '^\d{1,2}/\d{1,2}/\d{4}([ T].*)?$')
        then try_strptime(regexp_extract(v, '^\d{1,2}/\d{1,2}/\d{4}'), '%d/%m/%Y')::date
end;

-- Whole numbers; "12.0" (as spreadsheets write them) counts, "12.5" does not.
create or replace macro parse_int(v) as case
    when regexp_matches(v, '^[+-]?\d+(\.0*)?$') then try_cast(try_cast(v as double) as integer)
end;

create or replace macro parse_number(v) as try_cast(v as double);

-- A dose as people write it: a plain non-negative decimal number, optionally followed by mg or mg/kg
-- ("45", "45 mg", "0.5 mg/kg", "0.5mg per kg"). NaN, infinity and exponents are not doses.
create or replace macro parse_dose(v) as case
    when regexp_matches(lower(v), '^(\d+(\.\d*)?|\.\d+)\s*(mg\s*(/|per)\s*kg|mgkg|mg/kg|mg)?$')
        then {'amount': try_cast(regexp_extract(v, '^[0-9.]+') as double),
              'unit': case when lower(v) like '%kg%' then 'mg/kg' when lower(v) like '%mg%' then 'mg' end}
end;

-- A setting in force (definitions.SETTINGS, or its override).
create or replace macro setting(setting_name) as (
    select value from settings where name = setting_name
);

-- The response fraction in force for an instrument (setting response_fraction_<instrument key>: PCL-5 0.7,
-- Feder 2021; the others 0.5). Response: baseline > 0 and score <= this x baseline.
create or replace macro response_fraction(instrument_name) as (
    select value from settings
    where name = 'response_fraction_' || (select key from instruments where instrument = instrument_name)
);

-- The clinical rules every metric applies, written once (issue 21): int_weekly_scores, int_end_of_induction and
-- the marts call these instead of repeating them. Response: baseline > 0 and score <= response_fraction x
-- baseline (a baseline of 0 never responds). Remission: score <= the instrument's remission_max (PHQ-9 < 5,
-- GAD-7 < 5, PCL-5 < 33 = below the probable-PTSD cut-off, MADRS <= 10, QIDS-SR16 <= 5). Reliable change:
-- the instrument's points (PHQ-9 6, GAD-7 4, PCL-5 10; NHS Talking Therapies, NCPTSD), else the
-- Jacobson-Truax threshold 1.96 x sqrt(2) x SD x sqrt(1 - r) from the settings reliability_<key> and
-- reliability_sd_<key> when both are above 0 (Jacobson & Truax 1991), else null (no reliable change).
create or replace macro is_response(instrument_name, score, baseline) as
    baseline > 0 and score <= response_fraction(instrument_name) * baseline;

create or replace macro remission_max(instrument_name) as (
    select remission_max from instruments where instrument = instrument_name
);

create or replace macro is_remission(instrument_name, score) as score <= remission_max(instrument_name);

create or replace macro reliable_change_points(instrument_name) as (
    select coalesce(
        instruments.reliable_change::double,
        case when setting('reliability_' || instruments.key) > 0 and setting('reliability_sd_' || instruments.key) > 0
            then 1.96 * sqrt(2) * setting('reliability_sd_' || instruments.key)
                * sqrt(1 - setting('reliability_' || instruments.key))
        end)
    from instruments where instruments.instrument = instrument_name
);

create or replace macro is_reliable_improvement(instrument_name, score, baseline) as
    baseline - score >= reliable_change_points(instrument_name);

create or replace macro is_reliable_deterioration(instrument_name, score, baseline) as
    score - baseline >= reliable_change_points(instrument_name);

-- The group a series falls in when a mart is split by `split` ($by: 'all', 'site', 'route', 'indication',
-- 'clinician', 'age_band', 'sex', 'series_number', 'start_quarter', 'start_month'); `series` is a row of
-- cohort_series (or int_treatment_series) passed whole. Which splits a mart offers is metrics.py's allow-list.
create or replace macro series_group(split, series) as case split
    when 'site' then series.site
    when 'route' then series.route
    when 'indication' then series.indication
    when 'clinician' then series.clinician_id
    when 'age_band' then series.age_band
    when 'sex' then series.sex
    when 'ethnicity' then series.ethnicity  -- as cohort_series groups it (a small category is 'other')
    when 'deprivation_decile' then series.deprivation_decile
    when 'series_number' then series.series_number::varchar
    when 'start_quarter' then series.start_quarter
    when 'start_month' then series.start_month
    else 'all'
end;

-- One problem with one field of a line, as filed in `rejects`.
create or replace macro problem(column_name, value, reason) as
    {'column_name': column_name, 'value': value, 'reason': reason};

-- Wilson score 95% interval for k successes out of n (Wilson 1927): sound at small n and at 0% / 100%.
create or replace macro wilson_low(k, n) as case when n > 0 then
    ((k / n) + 1.96 ^ 2 / (2 * n) - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n)
end;

create or replace macro wilson_high(k, n) as case when n > 0 then
    ((k / n) + 1.96 ^ 2 / (2 * n) + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n)
end;

-- k / n as a fraction 0-1, null when there is no denominator.
create or replace macro rate(k, n) as case when n > 0 then k / n end;

-- Whether a series' attributes match the cohort a user selected. `cohort` is a struct of optional
-- filters, null meaning "all": sites, routes, indications, clinicians, age_bands, sexes (lists);
-- first_series_only (boolean); start_from, start_to (dates of the series' first session). Any table
-- carrying these columns can be filtered with it: int_treatment_series (through cohort_series) and
-- int_weekly_scores. The minimum baseline is the other half of the cohort: meets_min_baseline.
create or replace macro in_cohort(cohort, site, route, indication, clinician_id, age_band, sex, series_number,
                                  start_date) as
    (cohort['sites'] is null or list_contains(cohort['sites'], site))
    and (cohort['routes'] is null or list_contains(cohort['routes'], route))
    and (cohort['indications'] is null  -- as treatment_series groups them: case and punctuation aside
         or list_contains(list_transform(cohort['indications'], lambda i: alias_key(i)), alias_key(indication)))
    and (cohort['clinicians'] is null or list_contains(cohort['clinicians'], clinician_id))
    and (cohort['age_bands'] is null or list_contains(cohort['age_bands'], age_band))
    and (cohort['sexes'] is null or list_contains(cohort['sexes'], sex))
    and (not coalesce(cohort['first_series_only'], false) or series_number = 1)
    and (cohort['start_from'] is null or start_date >= cohort['start_from'])
    and (cohort['start_to'] is null or start_date <= cohort['start_to']);

-- The dates a session or assessment can have taken place on. Before 1990 no ketamine clinic kept these
-- records (the first trial for depression was in 2000): 0001-01-01 or 1899-12-30 is a placeholder or a
-- spreadsheet's day zero. After today it has not happened yet (a typed 2042, 9999-12-31); one day later
-- is allowed because the machine that ingests may keep another time zone's date than the clinic's.
create or replace macro first_plausible_date() as date '1990-01-01';
create or replace macro last_plausible_date() as current_date + 1;

-- Whether a line's date (or day offset) is missing, unreadable or outside the plausible dates.
create or replace macro date_is_bad(date_text, day_text, parsed_date, day_offset) as
    (date_text is null and day_text is null)
    or (date_text is not null and parsed_date is null)
    or coalesce(parsed_date not between first_plausible_date() and last_plausible_date(), false)
    or (date_text is null and day_text is not null and day_offset is null);

-- What is wrong with a line's date, for the lines date_is_bad flags. `kind`: 'session' or 'assessment'.
create or replace macro date_problems(kind, date_text, day_text, parsed_date, day_offset, style) as list_filter([
    case when date_text is null and day_text is null
        then problem(kind || '_date', null, kind || '_date (or ' || kind || '_day) is missing') end,
    case when date_text is not null and parsed_date is null
        then problem(kind || '_date', date_text, case
            when style = 'ambiguous' and date_text like '%/%'
                then 'ambiguous date: could be MM/DD/YYYY or DD/MM/YYYY; use YYYY-MM-DD or declare --date-format us or dmy'
            else 'not a date: expected YYYY-MM-DD' || case style when 'us' then ' or MM/DD/YYYY' when 'dmy' then ' or DD/MM/YYYY' else '' end
        end) end,
    case when parsed_date < first_plausible_date()
        then problem(kind || '_date', date_text, format('{} date ''{}'' is before {}, older than any ketamine '
                     || 'clinic''s records: check the year', kind, parsed_date, first_plausible_date())) end,
    case when parsed_date > last_plausible_date()
        then problem(kind || '_date', date_text, format('{} date ''{}'' is in the future: only what has taken '
                     || 'place is stored; check the year', kind, parsed_date)) end,
    case when date_text is null and day_text is not null and day_offset is null
        then problem(kind || '_day', day_text, 'not a whole number of days') end,
], lambda p: p is not null);

-- The Kaplan-Meier product-limit estimate (Kaplan & Meier 1958) of the durations in the table or CTE
-- named `durations_name` (columns: group_value, day, is_event; a row with is_event false is censored
-- at its day). One row per group and day with an event or a censoring: n_at_risk (still followed at
-- the start of that day: censored series count as at risk on their own day, as is usual), n_events,
-- n_censored, survival = the product over days so far of (1 - n_events / n_at_risk), and median_days =
-- the first day survival is 0.5 or less (null when not reached), on every row of the group.
-- query_table resolves the name when the macro is used, so a query's own CTE can be passed.
create or replace macro kaplan_meier(durations_name) as table
with

by_day as (
    select
        group_value,
        day,
        count(*) filter (where is_event) as n_events,
        count(*) filter (where not is_event) as n_censored,
    from query_table(durations_name)
    group by group_value, day
),

at_risk as (
    select
        *,
        sum(n_events + n_censored) over (partition by group_value order by day desc) as n_at_risk,
    from by_day
),

estimated as (
    select
        group_value,
        day,
        n_at_risk::bigint as n_at_risk,
        n_events,
        n_censored,
        product(1 - n_events / n_at_risk) over (partition by group_value order by day) as survival,
    from at_risk
)

select
    *,
    min(day) filter (where survival <= 0.5) over (partition by group_value) as median_days,
from estimated;

-- The Aalen-Johansen estimate (Aalen & Johansen 1978) of the cumulative incidence of an event in the presence of
-- a competing event, for the durations in the table or CTE named `durations_name` (columns: group_value, day,
-- outcome: 'event', 'competing' or 'censored' at that day). One row per group and day with any of them:
-- n_at_risk (still followed at the start of that day), n_events, n_competing, n_censored; incidence = the sum
-- over days so far of S(day before) x n_events / n_at_risk, where S is the Kaplan-Meier probability of neither
-- event yet (both kinds end it); competing_incidence likewise for the competing event; median_days = the first
-- day incidence is 0.5 or more (null when not reached). Unlike 1 - Kaplan-Meier with the competing event
-- censored, it does not assume those who had the competing event would have gone on like those who stayed
-- (Putter, Fiocco & Geskus 2007, Stat Med 26:2389). Same as lifelines' AalenJohansenFitter without ties jittered.
create or replace macro aalen_johansen(durations_name) as table
with

by_day as (
    select
        group_value,
        day,
        count(*) filter (where outcome = 'event') as n_events,
        count(*) filter (where outcome = 'competing') as n_competing,
        count(*) filter (where outcome = 'censored') as n_censored,
    from query_table(durations_name)
    group by group_value, day
),

at_risk as (
    select
        *,
        sum(n_events + n_competing + n_censored) over (partition by group_value order by day desc) as n_at_risk,
    from by_day
),

event_free as (
    select
        *,
        product(1 - (n_events + n_competing) / n_at_risk) over (partition by group_value order by day) as event_free,
    from at_risk
),

before_day as (
    select
        *,
        coalesce(lag(event_free) over (partition by group_value order by day), 1) as event_free_before,
    from event_free
),

estimated as (
    select
        group_value,
        day,
        n_at_risk::bigint as n_at_risk,
        n_events,
        n_competing,
        n_censored,
        sum(event_free_before * n_events / n_at_risk) over (partition by group_value order by day) as incidence,
        sum(event_free_before * n_competing / n_at_risk) over (partition by group_value order by day)
            as competing_incidence,
    from before_day
)

select
    *,
    min(day) filter (where incidence >= 0.5) over (partition by group_value) as median_days,
from estimated;

-- Adverse events as the safety marts count them (adverse_events, adverse_event_incidence): one row per row of
-- the table or CTE named `sessions_name` (sessions, with their adverse_events list) and event recorded in it,
-- with the session's other columns; an event listed twice for one session gives two rows.
create or replace macro session_adverse_events(sessions_name) as table
select * exclude (adverse_events), unnest(adverse_events) as event,
from query_table(sessions_name);

-- Every adverse event the clinic's vocabulary knows (aliases), so a safety mart shows a zero for an event no
-- one had rather than leaving it out.
create or replace macro adverse_event_kinds() as table
select distinct value as event from aliases where kind = 'adverse_event';
