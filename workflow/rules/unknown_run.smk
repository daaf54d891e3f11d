# Every run of every grid of this config; a target in any other run folder goes to rule unknown_run.
ALL_RUNS = ([p for study in S.STUDIES for p in cells(study)] + F2_RUNS + T2_RUNS + T2_TUNING_RUNS
            + CF_2D_RUNS + [p for runs in CF_TABLE2_RUNS.values() for p in runs])


rule unknown_run:
    """A file in a run folder that no grid of this config has: fails naming the values its path
    could take there (hdnn.runs.unknown_run), where Snakemake alone would say "no rule to produce"."""
    input:
        no_such_run,
    output:
        f"{R}/runs/{{path}}",
    wildcard_constraints:
        path=runs_pattern(ALL_RUNS, f"{R}/runs/"),
