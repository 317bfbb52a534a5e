-- Which date style an export uses. Grain: one row for the file in raw_export.
-- ISO (YYYY-MM-DD) always parses. MM/DD/YYYY ('us') is read when the file says so ($declared, from
-- the command line, the upload or a header such as "session_date (MM/DD/YYYY)") or when it is
-- unambiguous: no first part above 12 and at least one second part above 12. DD/MM/YYYY ('dmy') the
-- same way round. Otherwise slash dates are 'ambiguous' and their lines are rejected rather than
-- guessed (docs/data-contract.md, Dates).
with

slash_dates as (
    select
        try_cast(split_part(clean(date_text), '/', 1) as integer) as first_part,
        try_cast(regexp_extract(split_part(clean(date_text), '/', 2), '^\d+') as integer) as second_part,
    from raw_export
    -- The plain test first: clean() only trims and drops characters, and a whole file's dates pass here.
    where date_text like '%/%/%' and clean(date_text) like '%/%/%'
),

final as (
    select
        case
            when $declared in ('us', 'dmy', 'iso') then $declared
            when count(*) = 0 then 'iso'
            when count(*) filter (where first_part > 12) = 0
                and count(*) filter (where second_part > 12) > 0 then 'us'
            when count(*) filter (where second_part > 12) = 0
                and count(*) filter (where first_part > 12) > 0 then 'dmy'
            else 'ambiguous'
        end as date_style,
    from slash_dates
)

select * from final
