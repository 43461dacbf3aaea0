"""The comparison report (JSON and HTML) at 200, 2,000 and 20,000 participants, beside a floor.

Usage: .venv/bin/python benchmarks/report_scale.py [--sizes 200 2000 20000]

A simulated trial (tests/trial_data.py, with the clinician forms: every instrument scored by the
real code, 90% completion) is built once per size and kept in /tmp/pro-benchmarks. The report is
built as `flask report` builds it: JSON (read, analyse, serialise) and HTML (the same analysis,
figures, template). Seconds are the best of three, with nothing tracing; peak MB is the rise of
the resident set during one more run of its own.

The floor is the same work done by plain libraries on the same machine, with no app code around
them: SQL (sqlite3) into numpy, then numpy, scipy and statsmodels, each called once where the
report prints its number, and each read done the cheapest way found for the report itself. It
covers everything the JSON holds:
- reading: the participants; the six newest scores of every answer from their typed columns, one
  query per instrument's scores (cheaper than one query of all six, whose rows are mostly empty);
  each clinician form's fields that the report uses, taken out by SQLite and decoded as one flat
  JSON array per form; the windows' distinct closing times, the CONSORT counts in one GROUP BY, the
  participants with answers but no window (paper), and the screening log;
- for each of the 16 between-arm rows (VAS at 6 timepoints, ODI at 4, NSAID reduction at 3, age,
  operative time, effective dose): median and quartiles (numpy, HAVERAGE), mean and sd per arm;
  Lilliefors per arm (statsmodels); Mann-Whitney (scipy) with its tie-corrected z and the
  rank-biserial r from its U; Student's t (scipy); the Hodges-Lehmann shift and interval, by the
  report's own reports.statistics.differences, since no library has it (sorting all n_A n_B
  differences instead would take 0.8 GB at 20,000 participants);
- Friedman (scipy) with the mean ranks and the Dunn-Bonferroni pairs, VAS and ODI in each arm;
- the 20 categorical tables (satisfaction, morphine equivalent, the clinician tables): counts,
  Pearson's chi-square (scipy) and, where Cochran's rule asks for the exact p (13 tables at 200
  participants, none at 2,000 or 20,000), scipy's fisher_exact for a 2 x 2 table and the report's
  own fisher_freeman_halton for 2 x c (scipy's r x c test is a permutation estimate, not that p);
- the derived values (NSAID reduction, effective dose, crossover, stratum and steroid deviations,
  roots group, worst complication), the dose descriptives per modality, the CONSORT table;
- the completion by reminder channel (one grouped query, the channel of each window's newest
  accepted reminder found by a correlated subquery);
- ``json.dumps`` of the report itself (indent 2, no NaN), as the JSON download writes it.
It leaves out only what is the app's by nature: checking each input, the notes in words, building
the report's dictionaries. The HTML line's floor is the same work plus matplotlib drawing the
two figures from the same values, as plainly as it can: a default boxplot per arm, a key in a
fixed corner, laid out and saved as SVG.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import warnings
from collections import Counter
from datetime import datetime, timezone
from itertools import chain

import numpy as np
from scipy import stats
from statsmodels.stats.diagnostic import lilliefors

from _harness import HEADER, SIZES, line, peak_mb, seconds, trial_database, use_cpu_time
from app import create_app
from randomization import STRATA
from reports import statistics as st
from reports import trial_report
from reports.statistics import differences
from web import report as report_view

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
SCORE_GROUPS = (("vas_cm",), ("odi_score",), ("sat_procedure", "sat_results"), ("nsaid_mg_day", "mme_mg_day"))
NEWEST = ("c.version = (SELECT MAX(v.version) FROM crf_records v WHERE v.participant_id = c.participant_id "
          "AND v.form = c.form AND v.item = c.item)")
BASELINE_FIELDS = ("age", "sex", "root_l3", "root_l4", "root_l5")
PROCEDURE_FIELDS = ("guidance", "punctures", "operative_min", "si_side", "contrast_extravasation", "dap_mgycm2",
                    "fluoro_time_s", "ctdivol_mgy", "dlp_mgycm", "methylprednisolone_mg")
EVENT_ORDER = {"discitis_neuritis": 0, "abscess": 1, "hematoma": 2, "other": 3}


def _describe(x: np.ndarray) -> None:
    if len(x):
        np.percentile(x, [25.0, 50.0, 75.0], method="weibull"), x.mean(), x.std(ddof=1)


def _between(a: np.ndarray, b: np.ndarray) -> None:
    for x in (a, b):
        _describe(x)
        if len(x) >= 5 and np.ptp(x) > 0:
            lilliefors(x, dist="norm", pvalmethod="approx")
    if len(a) < 2 or len(b) < 2:
        return
    u = stats.mannwhitneyu(a, b, use_continuity=False, method="asymptotic").statistic
    with warnings.catch_warnings():       # equal values but for rounding: scipy warns, as in the report
        warnings.simplefilter("ignore", RuntimeWarning)
        stats.ttest_ind(a, b)
    n, m = len(a) + len(b), len(a) * len(b)
    _, t = np.unique(np.concatenate([a, b]), return_counts=True)
    sd = np.sqrt(m / 12.0 * ((n + 1) - np.sum(t ** 3.0 - t) / (n * (n - 1))))
    if sd > 0:
        (u - m / 2) / sd, 2 * u / m - 1                           # z, rank-biserial
    c = max(1, int(m / 2 - 1.96 * sd))
    differences.order_statistics(a, b, [(m + 1) // 2, m // 2 + 1, c, m + 1 - c])


def _friedman(matrix: np.ndarray) -> None:
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    k = complete.shape[1]
    stats.friedmanchisquare(*complete.T)
    ranks = stats.rankdata(complete, axis=1).mean(axis=0)
    z = (ranks[:, None] - ranks[None, :]) / np.sqrt(k * (k + 1) / (6.0 * len(complete)))
    stats.norm.sf(np.abs(z[np.triu_indices(k, 1)]))


def _chi_square(a: list, b: list) -> None:
    _table(Counter(a), Counter(b))


def _table(count_a: Counter, count_b: Counter) -> None:
    levels = sorted((level for level in set(count_a) | set(count_b) if count_a[level] + count_b[level]), key=str)
    if len(levels) < 2 or not sum(count_a.values()) or not sum(count_b.values()):
        return
    table = np.array([[count_a[v] for v in levels], [count_b[v] for v in levels]])
    expected = stats.chi2_contingency(table, correction=False).expected_freq
    if (expected < 5).mean() > 0.2 or expected.min() < 1:     # Cochran's rule: the exact p too
        if len(levels) == 2:
            stats.fisher_exact(table)
        else:       # no library has the exact 2 x c test (scipy's r x c one is a permutation estimate)
            st.fisher_freeman_halton(table.tolist())


def _levels(values: np.ndarray) -> Counter:
    """Morphine equivalents counted by their printed level, each distinct value printed once."""
    distinct, counts = np.unique(values, return_counts=True)
    found: Counter = Counter()
    for value, n in zip(distinct.tolist(), counts.tolist()):
        found[f"{value:g}"] += n
    return found


def _form(connection, form: str, fields: tuple[str, ...]) -> tuple[np.ndarray, list[list]]:
    """The fields of each newest record, taken out by SQLite and decoded as one flat JSON array."""
    values = f"json_extract(c.data, {', '.join(repr('$.' + name) for name in fields)})"
    flat = json.loads(connection.execute(
        f"SELECT '[' || COALESCE(group_concat(c.participant_id || ',' || substr({values}, 2, length({values}) - 2)), "
        f"'') || ']' FROM crf_records c WHERE c.form = ? AND {NEWEST}", [form]).fetchone()[0])
    stride = 1 + len(fields)
    return np.array(flat[0::stride], dtype=int), [flat[1 + index::stride] for index in range(len(fields))]


def floor(path, protocol, report: dict) -> None:
    connection = sqlite3.connect(path)
    timepoints = protocol.timepoint_ids
    case = "CASE timepoint " + " ".join(f"WHEN '{tp}' THEN {i}" for i, tp in enumerate(timepoints)) + " END"
    among = "timepoint IN (" + ", ".join(f"'{tp}'" for tp in timepoints) + ")"
    people = connection.execute("SELECT id, arm, stratum FROM participants ORDER BY study_id").fetchall()
    ids = np.array([p[0] for p in people], dtype=int)
    arm = np.array([p[1] for p in people])
    row_of = np.zeros(ids.max() + 1, dtype=int)
    row_of[ids] = np.arange(len(ids))
    scores = {}
    for group in SCORE_GROUPS:
        found = np.fromiter(chain.from_iterable(connection.execute(
            f"SELECT participant_id, {case}, {', '.join(group)} FROM newest_answers "
            f"WHERE ({' OR '.join(f'{name} IS NOT NULL' for name in group)}) AND {among}")), dtype=object)
        found = found.reshape(-1, 2 + len(group))
        at = row_of[found[:, 0].astype(int)], found[:, 1].astype(int)
        for index, name in enumerate(group):
            values = found[:, 2 + index].astype(float)
            given = ~np.isnan(values)
            scores[name] = np.full((len(ids), len(timepoints)), np.nan)
            scores[name][at[0][given], at[1][given]] = values[given]
    a, b = arm == "A", arm == "B"

    def column(name, tp, mine):
        values = scores[name][mine, timepoints.index(tp)]
        return values[~np.isnan(values)]
    for name, instrument in (("vas_cm", "vas"), ("odi_score", "odi")):
        tps = [tp.id for tp in protocol.timepoints if instrument in tp.instruments]
        for tp in tps:
            _between(column(name, tp, a), column(name, tp, b))
        for mine in (a, b):
            _friedman(scores[name][mine][:, [timepoints.index(tp) for tp in tps]])
    medication = [tp.id for tp in protocol.timepoints if "medication" in tp.instruments]
    base = scores["nsaid_mg_day"][:, timepoints.index(protocol.baseline.id)]
    for tp in medication[1:]:
        now = scores["nsaid_mg_day"][:, timepoints.index(tp)]
        defined = ~np.isnan(base) & ~np.isnan(now) & (base > 0)
        reduction = np.full(len(base), np.nan)
        reduction[defined] = (base[defined] - now[defined]) / base[defined] * 100
        _between(reduction[a & defined], reduction[b & defined])
    for name in ("sat_procedure", "sat_results"):
        for tp in protocol.timepoints:
            if "satisfaction" in tp.instruments:
                _chi_square(column(name, tp.id, a).tolist(), column(name, tp.id, b).tolist())
    for tp in medication:
        _table(_levels(column("mme_mg_day", tp, a)), _levels(column("mme_mg_day", tp, b)))

    # The clinician forms, by allocated arm.
    who, baseline = _form(connection, "baseline", BASELINE_FIELDS)
    mine = arm[row_of[who]]
    age = np.array(baseline[0], dtype=float)
    _between(age[(mine == "A") & ~np.isnan(age)], age[(mine == "B") & ~np.isnan(age)])
    for index in range(1, len(BASELINE_FIELDS)):
        values = np.array(baseline[index], dtype=object)
        _chi_square(values[mine == "A"].tolist(), values[mine == "B"].tolist())
    who, procedure = _form(connection, "procedure", PROCEDURE_FIELDS)
    mine = arm[row_of[who]]
    fields = {name: np.array(procedure[i], dtype=float if i > 0 else object)
              for i, name in enumerate(PROCEDURE_FIELDS) if name not in ("si_side", "contrast_extravasation")}
    guidance = fields["guidance"]
    settings = protocol.clinical
    coefficients = settings.effective_dose
    dose = np.where(guidance == "fluoroscopy", fields["dap_mgycm2"] * coefficients.fluoroscopy_msv_per_mgycm2,
                    fields["dlp_mgycm"] * coefficients.ct_msv_per_mgycm)
    for name, values in (("operative_min", fields["operative_min"]), ("effective_dose_msv", dose)):
        _between(values[(mine == "A") & ~np.isnan(values)], values[(mine == "B") & ~np.isnan(values)])
    for modality, name in (("fluoroscopy", "dap_mgycm2"), ("fluoroscopy", "fluoro_time_s"), ("ct", "ctdivol_mgy"),
                           ("ct", "dlp_mgycm")):
        for code in ("A", "B"):
            values = fields[name][(mine == code) & (guidance == modality)]
            _describe(values[~np.isnan(values)])
    allocated = np.where(mine == "A", protocol.arm("A").guidance, protocol.arm("B").guidance)
    bounds = np.array([STRATA.get(p[2] or "", (0, 99)) for p in people])
    strata = bounds[row_of[who]]
    punctures = fields["punctures"]
    groups = np.where(punctures <= 2, "1-2", np.where(punctures <= 4, "3-4", "5-6"))
    for code in ("A", "B"):
        at_arm = mine == code
        (guidance[at_arm] != allocated[at_arm]).sum(), (fields["methylprednisolone_mg"][at_arm] > 80).sum()
        ((punctures[at_arm] < strata[at_arm, 0]) | (punctures[at_arm] > strata[at_arm, 1])).sum()
    for index in (3, 4):
        values = np.array(procedure[index], dtype=object)
        _chi_square(values[mine == "A"].tolist(), values[mine == "B"].tolist())
    _chi_square(groups[mine == "A"].tolist(), groups[mine == "B"].tolist())
    who, events = _form(connection, "adverse_event", ("event", "grade"))
    worst = np.full(len(ids), "none", dtype=object)
    if len(who):
        kinds, grades = events
        order = np.lexsort(([EVENT_ORDER[e] for e in kinds], [-(g or 0) for g in grades], row_of[who]))
        first = np.unique(row_of[who][order], return_index=True)[1]
        worst[row_of[who][order][first]] = np.array(kinds, dtype=object)[order][first]
    _chi_square(worst[a].tolist(), worst[b].tolist())

    # CONSORT: per arm and timepoint, by completion, withdrawal and window (the windows' closing
    # times are few: each is parsed once); the participants answering without a window; the screening log.
    closed = [at for at, in connection.execute("SELECT DISTINCT closes_at FROM timepoints")
              if NOW >= datetime.fromisoformat(at)]
    connection.execute(
        f"SELECT (CASE p.arm WHEN 'A' THEN 0 WHEN 'B' THEN 1 END * 8 + {case.replace('timepoint', 't.timepoint')}) * 8 "
        "+ (t.completed_at IS NOT NULL) * 4 + (p.withdrawn_at < t.closes_at) * 2 "
        "+ (t.closes_at IN (SELECT value FROM json_each(?))) AS k, COUNT(*) "
        "FROM timepoints t JOIN participants p ON p.id = t.participant_id GROUP BY k", [json.dumps(closed)]).fetchall()
    connection.execute(
        "WITH lacking AS MATERIALIZED (SELECT p.id, p.arm FROM participants p WHERE (SELECT COUNT(*) "
        f"FROM timepoints t WHERE t.participant_id = p.id AND t.{among}) < {len(timepoints)}) "
        f"SELECT l.arm, n.timepoint, COUNT(DISTINCT n.participant_id) FROM lacking l JOIN newest_answers n "
        "ON n.participant_id = l.id WHERE NOT EXISTS (SELECT 1 FROM timepoints t WHERE t.participant_id = "
        "n.participant_id AND t.timepoint = n.timepoint) GROUP BY 1, 2").fetchall()
    # Completion by reminder channel: each reminded follow-up under its newest accepted reminder's channel.
    connection.execute(
        "SELECT t.timepoint, (SELECT m.channel FROM reminders r CROSS JOIN messages m ON m.reminder_id = r.id "
        "WHERE r.participant_id = t.participant_id AND r.timepoint = t.timepoint AND m.direction = 'outbound' "
        "AND m.sent_at IS NOT NULL AND m.status NOT IN ('failed', 'undelivered') AND (t.completed_at IS NULL "
        "OR m.sent_at <= t.completed_at) ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) AS channel, "
        "t.completed_at IS NOT NULL, t.closes_at <= ?, COUNT(*) FROM timepoints t WHERE channel IS NOT NULL "
        "GROUP BY 1, 2, 3, 4", [NOW.isoformat()]).fetchall()
    connection.execute("SELECT outcome, COUNT(*) FROM screenings GROUP BY outcome").fetchall()
    Counter(c for (failed,) in connection.execute("SELECT failed FROM screenings WHERE outcome = 'not_enrolled'")
            for c in json.loads(failed))
    connection.close()
    json.dumps(report, indent=2, allow_nan=False)


def plain_figures(series: dict) -> None:
    """VAS and ODI by timepoint, a box per arm, as matplotlib draws them by default, into SVG."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    for variable in ("vas", "odi"):
        figure, axes = plt.subplots(figsize=(6.3, 3.2))
        for arm in range(2):
            drawn = axes.boxplot([per_arm[arm] for _, per_arm in series[variable]], widths=0.3, patch_artist=True,
                                 positions=[position + (arm - 0.5) * 0.35 for position in range(len(series[variable]))])
            drawn["boxes"][0].set_label(f"arm {arm}")
        axes.legend(loc="upper right")
        figure.tight_layout()
        figure.savefig(io.StringIO(), format="svg")
        plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--cpu", action="store_true", help="time by this process's CPU time, not the wall clock")
    args = parser.parse_args()
    if args.cpu:
        use_cpu_time()
    print(HEADER)
    for size in args.sizes:
        path = trial_database(size, clinical=True)
        app = create_app({"DATABASE": str(path), "TESTING": True, "CLOCK": lambda: NOW})
        protocol = app.extensions["protocol"]
        with app.app_context():
            report = report_view.build()[0]     # warm the imports (scipy, statsmodels) outside the timing
            floor(path, protocol, report)
            floor_s = seconds(lambda: floor(path, protocol, report), 3)
            floor_peak = peak_mb(lambda: floor(path, protocol, report))
            json_s = seconds(lambda: report_view.as_json(report_view.build()[0]), 3)
            json_peak = peak_mb(lambda: report_view.as_json(report_view.build()[0]))
            html_s = seconds(lambda: report_view.as_html(*report_view.build()), 3)
            html_peak = peak_mb(lambda: report_view.as_html(*report_view.build()))
            series = trial_report.figure_series(report_view.build()[1], protocol)
            html_floor = seconds(lambda: (floor(path, protocol, report), plain_figures(series)), 3)
        print(line("report, JSON", size, json_s, json_peak, floor_s, floor_peak))
        print(line("report, HTML", size, html_s, html_peak, html_floor, floor_peak))


if __name__ == "__main__":
    main()
