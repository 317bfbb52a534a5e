"""Guards the optional equity fields (issue 22 item 10): ethnicity (the clinic's own categories) and area
deprivation decile are stored as the contract says, filter and split cohorts, and are quasi-identifiers:
a category held by fewer patients than min_cell_size is shown as 'other', and a view may combine them
only as the privacy guard allows (ketamine_outcomes/privacy.py, check_equity_view). Counts here
are small enough to check by hand."""

import pytest

from ketamine_outcomes.ingest import mappings
from ketamine_outcomes.privacy import DisallowedView, check_equity_view
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.metrics.marts import Cohort


def test_ethnicity_is_a_clinic_category_or_other_and_a_decile_is_1_to_10(load, con):
    mappings.add_terms(con, "emr", "ethnicity", ["White British", "Asian British"])
    result = load("p.csv", "patient_id,ethnicity,IMD Decile\nP1,white british,3\nP2,Klingon from Jane Doe's ward,11\n"
                           "P3,Asian British,x\nP4,prefer not to say,10\nP5,,\n")
    assert (result.rows_inserted, result.rows_rejected, result.rows_with_warnings) == (5, 0, 2)
    assert con.execute("select patient_id, ethnicity, deprivation_decile from patients order by 1").fetchall() == [
        ("P1", "White British", 3), ("P2", "other", None), ("P3", "Asian British", None), ("P4", "not stated", 10),
        ("P5", None, None)]
    assert result.warnings[["line_number", "column_name", "value"]].values.tolist() == [
        [3, "IMD Decile", None], [3, "ethnicity", None], [4, "IMD Decile", None]]
    assert not con.execute("select count(*) from warnings where reason like '%Klingon%' or reason like '%Jane%'"
                           ).fetchall()[0][0]


@pytest.fixture
def equity_clinic(con, export):
    """12 White British patients at site North (deciles 1 and 2, six each), 3 Asian British and 2 of a
    category the clinic never named (stored 'other'), at South; every patient one series with a PHQ-9
    baseline, all 35-44 and female. min_cell_size is 11."""
    from ketamine_outcomes.ingest.pipeline import ingest_file

    mappings.add_terms(con, "emr", "ethnicity", ["White British", "Asian British"])
    patients = [(f"W{n}", "White British", 1 + n % 2, "North") for n in range(12)]
    patients += [(f"A{n}", "Asian British", 5, "South") for n in range(3)]
    patients += [(f"K{n}", "Klingon", 9, "South") for n in range(2)]
    files = [
        export("p.csv", "patient_id,age_band,sex,ethnicity,deprivation_decile,site\n" + "".join(
            f"{p},35-44,female,{e},{d},{s}\n" for p, e, d, s in patients)),
        export("s.csv", "patient_id,session_day,route,site\n" + "".join(
            f"{p},{day},IV,{s}\n" for p, _, _, s in patients for day in (0, 2, 4, 7, 9, 11))),
        export("o.csv", "patient_id,assessment_day,instrument,score\n" + "".join(
            f"{p},0,PHQ-9,20\n{p},14,PHQ-9,8\n" for p, _, _, _ in patients)),
    ]
    for file in files:
        assert ingest_file(con, file).rows_rejected == 0
    marts.build(con)
    return con


def groups(con, by, cohort=None):
    frame = marts.cohort_comparison(con, "PHQ-9", by=by, cohort=cohort or Cohort())
    return dict(zip(frame.group_value, frame.n_series))


def test_a_category_held_by_fewer_than_min_cell_patients_is_shown_as_other(equity_clinic):
    # 3 Asian British and 2 'other' are under 11: both shown as 'other' (5); White British (12) as itself.
    assert groups(equity_clinic, "ethnicity") == {"White British": 12, "other": 5}
    # Deciles: 1 and 2 hold 6 each, 5 holds 3, 9 holds 2: every one under 11, so all are 'other'.
    assert groups(equity_clinic, "deprivation_decile") == {"other": 17}
    # A filter reads the same groups: the small category cannot be picked out by name.
    assert groups(equity_clinic, "all", Cohort(ethnicities=("Asian British",))) == {}
    assert groups(equity_clinic, "all", Cohort(ethnicities=("other",))) == {"all": 5}
    assert groups(equity_clinic, "site", Cohort(ethnicities=("White British",))) == {"North": 12}


def test_the_weekly_table_counts_only_the_ethnicity_filtered_series_in_every_week_and_splits_by_it(equity_clinic):
    # Every patient: PHQ-9 20 at baseline, 8 on day 14 (week 2). Until issue 21 the weeks after baseline ignored an
    # ethnicity filter (17 series in week 2 under a filter of 5).
    other = marts.weekly_outcomes(equity_clinic, "PHQ-9", Cohort(ethnicities=("other",))).set_index("week")
    assert other.n_scored.to_dict() == {0: 5, 2: 5}
    assert other.loc[2, "responders"] == 5
    split = marts.weekly_outcomes(equity_clinic, "PHQ-9", by="ethnicity")
    assert split[split.week == 2].set_index("group_value").n_scored.to_dict() == {"White British": 12, "other": 5}
    with pytest.raises(DisallowedView):  # the split is a view as any other: the privacy guard's rules hold
        marts.weekly_outcomes(equity_clinic, "PHQ-9", Cohort(ethnicities=("other",)), by="deprivation_decile")


def test_a_lower_min_cell_size_shows_more_categories(equity_clinic):
    equity_clinic.execute("insert or replace into setting_overrides values ('min_cell_size', 3)")
    assert groups(equity_clinic, "ethnicity") == {"White British": 12, "Asian British": 3, "other": 2}
    assert groups(equity_clinic, "deprivation_decile") == {"1": 6, "2": 6, "5": 3, "other": 2}


# Views (filters and split) the guard refuses, and near-misses it allows.
REFUSED_VIEWS = [
    ("ethnicity split with site and age band filters", Cohort(sites=("North",), age_bands=("35-44",)), "ethnicity",
     "cannot be combined with both site and age band"),
    ("ethnicity filter, split by site, age band filter", Cohort(ethnicities=("other",), age_bands=("35-44",)), "site",
     "cannot be combined with both site and age band"),
    ("deprivation filter with site filter, split by age band", Cohort(deprivation_deciles=("1",), sites=("North",)),
     "age_band", "cannot be combined with both site and age band"),
    ("ethnicity and deprivation together", Cohort(ethnicities=("other",)), "deprivation_decile",
     "ethnicity and area deprivation cannot be used together"),
    ("both equity filters", Cohort(ethnicities=("other",), deprivation_deciles=("1",)), "all",
     "ethnicity and area deprivation cannot be used together"),
]
ALLOWED_VIEWS = [
    ("ethnicity split alone", Cohort(), "ethnicity"),
    ("ethnicity split with a site filter", Cohort(sites=("North",)), "ethnicity"),
    ("ethnicity split with age band and sex filters", Cohort(age_bands=("35-44",), sexes=("female",)), "ethnicity"),
    ("deprivation split with a route filter", Cohort(routes=("IV",)), "deprivation_decile"),
    ("site and age band filters without an equity field", Cohort(sites=("North",), age_bands=("35-44",)), "sex"),
    ("ethnicity filter, split by route", Cohort(ethnicities=("White British",)), "route"),
]


@pytest.mark.parametrize("why,cohort,by,refusal", REFUSED_VIEWS, ids=[v[0] for v in REFUSED_VIEWS])
def test_a_view_combining_quasi_identifiers_beyond_the_rules_is_refused(equity_clinic, why, cohort, by, refusal):
    with pytest.raises(DisallowedView, match=refusal):
        marts.cohort_comparison(equity_clinic, "PHQ-9", by=by, cohort=cohort)
    with pytest.raises(DisallowedView):
        marts.weekly_outcomes(equity_clinic, "PHQ-9", cohort) if by == "all" else check_equity_view(cohort, by)


@pytest.mark.parametrize("why,cohort,by", ALLOWED_VIEWS, ids=[v[0] for v in ALLOWED_VIEWS])
def test_a_view_within_the_rules_is_allowed(equity_clinic, why, cohort, by):
    assert sum(groups(equity_clinic, by, cohort).values()) > 0


def test_the_command_line_filters_and_splits_by_them_and_refuses_what_the_rules_refuse(equity_clinic, db_path, cli):
    equity_clinic.close()

    def on_db(*args):
        return cli(*args, "--db", db_path)

    split = on_db("mart", "cohort_comparison", "--by", "ethnicity", "--json")
    assert split.returncode == 0, split.stderr
    assert '"group_value": "White British"' in split.stdout and '"group_value": "Asian British"' not in split.stdout
    refused = on_db("mart", "cohort_comparison", "--by", "ethnicity", "--site", "North", "--age-band", "35-44")
    assert refused.returncode == 2 and "cannot be combined with both site and age band" in refused.stderr
    weekly = on_db("weekly", "--ethnicity", "other", "--deprivation-decile", "1")
    assert weekly.returncode == 2 and "refused: ethnicity and area deprivation" in weekly.stderr


def test_the_sidebar_offers_the_groups_and_the_compare_page_refuses_what_the_rules_refuse(equity_clinic, db_path,
                                                                                      monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    equity_clinic.close()
    monkeypatch.setenv("KETAMINE_OUTCOMES_DB", str(db_path))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    app = app.switch_page("app_pages/compare.py").run()
    # Asian British (3 patients) is offered only inside 'other'; the deciles, each under 11, only as 'other'.
    assert app.multiselect(key="filters_ethnicities").options == ["White British", "other"]
    assert app.multiselect(key="filters_deprivation_deciles").options == ["other"]
    app.selectbox(key="compare_by").set_value("ethnicity").run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.warning
    app.multiselect(key="filters_sites").set_value(["North"]).run()
    app.multiselect(key="filters_age_bands").set_value(["35-44"]).run()
    assert any("cannot be combined with both site and age band" in w.value for w in app.warning)
    assert not app.get("plotly_chart")  # nothing drawn for the refused view
    # An equity filter the rules refuse (with both site and age band) is left out of the view, said so.
    app.selectbox(key="compare_by").set_value("route").run()
    app.multiselect(key="filters_ethnicities").set_value(["White British"]).run()
    assert any("Ethnicity and area deprivation filters not applied" in w.value for w in app.warning)


def test_series_without_a_baseline_are_grouped_the_same_way(equity_clinic, export):
    # cohort_comparison counts evaluable series without a baseline apart; grouped by the raw category, they
    # were lost from the intention-to-treat denominator of 'other' (and filtered by the raw name).
    from ketamine_outcomes.ingest.pipeline import ingest_file

    ingest_file(equity_clinic, export("p2.csv", "patient_id,ethnicity\nA9,Asian British\n"))
    ingest_file(equity_clinic, export("s2.csv", "patient_id,session_day,route\nA9,0,IV\nA9,2,IV\n"))
    # A later score elsewhere moves the data's last day on: A9 (quiet since day 2) has dropped out, evaluable.
    ingest_file(equity_clinic, export("o2.csv", "patient_id,assessment_day,instrument,score\nW0,200,PHQ-9,8\n"))
    marts.build(equity_clinic)
    assert equity_clinic.execute("select is_dropped_out from int_treatment_series where patient_id = 'A9'"
                                 ).fetchall() == [(True,)]
    frame = marts.cohort_comparison(equity_clinic, "PHQ-9", by="ethnicity")
    assert set(frame.group_value) == {"White British", "other"}
    # A9 counts in 'other' as an evaluable series without a baseline (raw, 'Asian British' matched no group).
    assert dict(zip(frame.group_value, frame.n_evaluable_no_baseline)) == {"White British": 0, "other": 1}
    assert marts.cohort_comparison(equity_clinic, "PHQ-9", by="all",
                                     cohort=Cohort(ethnicities=("Asian British",))).empty
