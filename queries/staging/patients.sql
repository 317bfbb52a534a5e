-- Staging for a patients export: trim, map sex and indication aliases, and aggregate ages as HIPAA
-- Safe Harbor says (45 CFR 164.514(b)(2)(i)(C): ages over 89 only as one category, 90 or older): an age
-- or band from 90 up is stored as '90+'; a band reaching past 89 from below ('85-94') or a number that
-- is no age (above 120: a birth year?) is not stored, and its warning does not repeat it. An age in any
-- other form than the contract's (whole years, a band of them, or a bound: '47', '45-54', '<18', '65+')
-- is not stored nor repeated: '47y 3m 12d' is nearly a date of birth. A sex that is none of the
-- contract's (after aliases) is not stored either, nor repeated: free text there may be a name. An
-- indication that is no term of the vocabulary (definitions.ALIASES and the clinic's own terms, saved
-- with a column mapping) is stored as 'other' and its text is not kept: free text may name someone.
-- Ethnicity likewise, against the clinic's own categories; an area deprivation decile is 1 to 10 or not
-- stored. Both are quasi-identifiers (privacy.check_equity_view).
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
        clean(ethnicity) as ethnicity_text,
        clean(deprivation_decile) as deprivation_text,
    from raw
),

ages as (
    select
        age_text,
        list_transform(regexp_extract_all(age_text, '[0-9]+'), lambda n: n::double) as numbers,
        regexp_matches(lower(age_text), '^\s*(<|under|below|less than|up to)') as is_upper_bound,
        regexp_matches(lower(age_text), '^\s*(>|over|above|older than)') as is_lower_bound,
        case
            when not regexp_matches(lower(age_text), $age_band_form) then 'not a band'
            when len(numbers) = 0 then 'as written'
            when list_max(numbers) > 120 then 'not an age'
            when is_upper_bound then case when numbers[1] <= 90 then 'as written' else 'past 89' end
            when numbers[1] >= 90 or (is_lower_bound and numbers[1] >= 89) then '90+'
            when list_max(numbers) >= 90 then 'past 89'
            else 'as written'
        end as reading,
    from (select distinct age_band as age_text from cleaned)
),

-- Each distinct text is looked up once, its alias key made once (a regular expression), not on every line.
sexes as (
    select texts.sex_text, aliases.value as sex,
    from (select distinct sex_text from cleaned) as texts
    left join aliases on aliases.kind = 'sex' and aliases.alias_key = alias_key(texts.sex_text)
),

indications as (
    select texts.indication_text, aliases.value as indication,
    from (select distinct indication_text from cleaned) as texts
    left join aliases on aliases.kind = 'indication' and aliases.alias_key = alias_key(texts.indication_text)
),

ethnicities as (
    select texts.ethnicity_text, aliases.value as ethnicity,
    from (select distinct ethnicity_text from cleaned) as texts
    left join aliases on aliases.kind = 'ethnicity' and aliases.alias_key = alias_key(texts.ethnicity_text)
),

parsed as (
    select
        cleaned.* exclude (age_band),
        sexes.sex,
        case when indication_text is not null then coalesce(indications.indication, 'other') end as primary_indication,
        indication_text is not null and indications.indication is null as unknown_indication,
        case when ethnicity_text is not null then coalesce(ethnicities.ethnicity, 'other') end as ethnicity,
        ethnicity_text is not null and ethnicities.ethnicity is null as unknown_ethnicity,
        case when parse_int(deprivation_text) between 1 and 10 then parse_int(deprivation_text) end
            as deprivation_decile,
        case ages.reading when 'as written' then cleaned.age_band when '90+' then '90+' end as age_band,
        ages.reading as age_reading,
    from cleaned
    left join ages on ages.age_text = cleaned.age_band
    left join sexes using (sex_text)
    left join indications using (indication_text)
    left join ethnicities using (ethnicity_text)
),

checked as (
    select
        *,
        list_filter([
            case when patient_id is null then problem('patient_id', null, 'patient_id is missing') end,
        ], lambda p: p is not null) as problems,
        list_filter([
            case age_reading
                when 'past 89' then problem('age_band', null, 'age band reaching past 89 not stored: ages over 89 '
                                                              || 'only as 90+ (HIPAA Safe Harbor)')
                when 'not an age' then problem('age_band', null, 'not an age (a number above 120) and not stored')
                when 'not a band' then problem('age_band', null, 'not an age band of the contract (whole years, '
                                                              || 'a band such as 45-54, or a bound such as <18 '
                                                              || 'or 65+): not stored')
            end,
            case when unknown_ethnicity
                then problem('ethnicity', null, 'not one of the clinic''s ethnicity categories: stored as other, '
                             || 'its text not kept (add the category to the vocabulary with a column mapping)') end,
            case when deprivation_text is not null and deprivation_decile is null
                then problem('deprivation_decile', null, 'not an area deprivation decile (a whole number from 1 '
                             || 'to 10): not stored') end,
            case when unknown_indication
                then problem('primary_indication', null, 'not a term of the indication vocabulary: stored as '
                             || 'other, its text not kept (add the term to the clinic''s vocabulary with a '
                             || 'column mapping)') end,
            case when sex is null and sex_text is not null
                then problem('sex', null, 'not one of female, male, other, unknown: not stored') end,
        ], lambda p: p is not null) as warnings,
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
        ethnicity,
        deprivation_decile,
        problems,
        warnings,
    from checked
)

select * from final
