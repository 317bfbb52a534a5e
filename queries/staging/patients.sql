-- Staging for a patients export: trim, map sex and indication aliases, refuse ages that HIPAA Safe
-- Harbor says must be aggregated (an age band above 89 other than "90+").
-- Grain: one row per data line of the file (raw_export). `problems` is empty for a good line.
with

raw as (
    select * from raw_export
),

-- Materialized: every cell trimmed once, before the lookups; measured 10-25% faster at 100k patients
-- than DuckDB's default of inlining it into each reader.
cleaned as materialized (
    select
        line_number,
        clean(patient_id) as patient_id,
        clean(age_band) as age_band,
        clean(sex) as sex_text,
        clean(primary_indication) as indication_text,
        clean(site) as site,
    from raw
),

parsed as (
    select
        cleaned.*,
        coalesce(sexes.value, lower(sex_text)) as sex,
        coalesce(indications.value, indication_text) as primary_indication,
        try_cast(regexp_extract(age_band, '^(\d+)', 1) as integer) as age_band_start,
    from cleaned
    left join aliases as sexes on sexes.kind = 'sex' and sexes.alias_key = alias_key(cleaned.sex_text)
    left join aliases as indications
        on indications.kind = 'indication' and indications.alias_key = alias_key(cleaned.indication_text)
),

checked as (
    select
        *,
        list_filter([
            case when patient_id is null then problem('patient_id', null, 'patient_id is missing') end,
            case when age_band_start > 89 and not regexp_matches(age_band, '^9\d\s*\+$')
                then problem('age_band', age_band, 'ages over 89 must be reported as 90+ (HIPAA Safe Harbor)') end,
        ], lambda p: p is not null) as problems,
    from parsed
),

final as (
    select
        line_number,
        patient_id,
        age_band,
        sex,
        primary_indication,
        site,
        problems,
        []::struct(column_name varchar, value varchar, reason varchar)[] as warnings,
    from checked
)

select * from final
