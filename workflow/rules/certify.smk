# Certificates (hdnn.certify): each stage's sample of committed runs (config `certify`), rerun at
# HEAD by the ordinary training rules, compared run by run with the committed data:
#   snakemake --cores all certify          # every stage's certificate
#   snakemake --cores all certify_runs     # the samples alone (the envelope's second target, docs/workflow.md)
# Paired (config `certify_baseline.<stage>`: a results_dir where certify_runs ran at the committed
# runs' code on this machine): the reruns are compared with that baseline, not with runs made on
# other CPUs (docs/workflow.md, "Certificates").

CERT = config.get("certify", {})
BASELINE = config.get("certify_baseline") or {}
CERT_CODE = {"confirmatory": TRAIN_CODE, "confirmatory_table2": MNIST_CODE}   # the others: their report's


rule certify_stage:
    input:
        runs=lambda w: certify_sample(w.stage),
        # Every stage's sample first: a certificate is a tracked file, and a run still training
        # when one is written would record a dirty tree (its digest "none").
        other_samples=lambda w: [p for stage in CERT if stage != w.stage for p in certify_sample(stage)],
        norms=lambda w: certify_sample(w.stage, NORMS_FILE) if w.stage == "figure2" else [],
        baseline=lambda w: baseline_sample(w.stage),
        baseline_norms=lambda w: baseline_sample(w.stage, NORMS_FILE) if w.stage == "figure2" else [],
        code=code_of("certify_stage") + ["config/claims.yaml"],
    output:
        summary=f"{P}/data/certificates/{{stage}}.csv",
        runs=f"{P}/data/certificates/{{stage}}_runs.csv",
    wildcard_constraints:
        stage="|".join(CERT) or "none",
    log:
        f"{R}/logs/certify/{{stage}}.log",
    params:
        # The committed records, read as such: as inputs they would be remade from every run.
        committed=lambda w: f"{P}/data/{CS.STAGES[w.stage][0]}",
        stage_provenance=lambda w: f"{P}/data/{CS.PROVENANCE[w.stage]}",
        train_code=lambda w: CERT_CODE.get(w.stage) or PAPER_STAGES[w.stage][1],
        tolerance=lambda w: CERT[w.stage]["tolerance"],
        stall=F2["stall"],
    conda:
        CONDA_ENV
    script:
        "../scripts/certify_stage.py"


rule certify:
    """Stage: every configured stage's certificate, and the page that shows them."""
    input:
        summaries=lambda w: [f"{P}/data/certificates/{stage}.csv" for stage in CERT],
        code=code_of("certify"),
    output:
        f"{P}/certificates.md",
    log:
        f"{R}/logs/certify/certificates.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/certify.py"


rule certify_runs:
    """The samples alone, e.g. for another CPU target into another results_dir (the envelope)."""
    input:
        lambda w: [p for stage in CERT for p in certify_sample(stage)],
