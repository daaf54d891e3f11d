"""Snakemake's HTML report of the smoke run, opened in headless Chromium: it renders its
categories, lists every table and figure marked with report() under its category with its
caption, and shows each figure (an image embedded as data that the browser decodes)."""

import html
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, run_snakemake

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CATEGORIES = ("Table 1", "Figure 1", "Figure 2", "Table 2", "Data", "Diagnostics")
# Outputs of the smoke run marked with report() in workflow/rules/*.smk, with their captions.
RESULTS = {f"results/smoke/{path}": caption for path, caption in {
    "tables/table1.md": "table1", "tables/table1.csv": "table1_csv",
    "tables/table1_cells.csv": "table1_cells", "tables/table1_ablation.md": "table1_ablation",
    "tables/table1_tuning.md": "table1_tuning", "tables/table1_experiments.md": "table1_experiments",
    "paper/figures/figure1.png": "figure1", "data/swiss_roll.png": "data", "data/double_moons.png": "data",
    "paper/figures/figure2.png": "figure2", "paper/figures/eigenvalues.png": "eigenvalues",
    "tables/gradients_summary.csv": "gradients_summary",
    "tables/gradients_summary.md": "gradients_summary", "tables/table2.md": "table2",
    "tables/table2.csv": "table2_csv", "tables/table2_tuning.md": "table2_tuning"}.items()}

# Appended to a copy of the report: the report's own app (global `app`) steps through every
# category and result as a click would, and the probe writes what each view shows into the page.
PROBE = """<script>
const report = async () => {
  const wait = () => new Promise(r => setTimeout(r, 200));
  const shown = () => document.querySelector("#app").textContent;
  const sidebar = document.querySelector('[class*="bg-slate-900"]');
  const out = {menu: shown(), subcategories: {}, results: {},
               sidebar: sidebar ? getComputedStyle(sidebar).backgroundColor : "none"};
  for (const [cat, subs] of Object.entries(categories)) {
    for (const sub of Object.keys(subs)) {
      app.setView({navbarMode: "menu"});  // as a reader goes back, so the list is made anew
      await wait();
      app.setView({navbarMode: "subcategory", category: cat, subcategory: sub});
      await wait();
      out.subcategories[cat + " / " + sub] = shown();
    }
  }
  for (const [path, res] of Object.entries(results)) {
    app.setView({navbarMode: "resultinfo", resultPath: path});
    await wait();
    const entry = {info: shown(), mime: res.mime_type, labels: res.labels || {}};
    if (res.mime_type.startsWith("image/")) {
      app.setView({content: "img", contentPath: res.data_uri, resultPath: path});
      await wait();
      const img = [...document.images].find(i => i.src === res.data_uri);
      entry.width = img ? img.naturalWidth : -1;  // 0: found, but not decoded as an image
    }
    out.results[path] = entry;
  }
  return out;
};
setTimeout(() => report().catch(err => ({error: String(err)})).then(out => {
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}), 1000);
</script>"""


def probe(report, tmp_path):
    page = tmp_path / "probed.html"
    head, tag, tail = report.read_text().rpartition("</body>")  # embedded files may hold one too
    page.write_text(head + PROBE + tag + tail)
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--virtual-time-budget=60000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the report did not render in Chromium:\n{proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.slow
# CI installs Chromium (.ci/run), so there a missing browser fails the test instead of skipping it.
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="no chromium (Debian: .ci/install_chromium.sh)")
def test_report_renders_every_table_and_figure(smoke_repo, tmp_path):
    report = tmp_path / "report.html"
    run_snakemake(smoke_repo, "--report", str(report), "--configfile", "config/smoke.yaml")
    shown = probe(report, tmp_path)
    assert all(cat in shown["menu"] for cat in CATEGORIES)
    assert shown["sidebar"] == "rgb(15, 23, 42)"   # opaque (workflow/report/stylesheet.css), not rgba(…, 0.7)
    assert sorted(shown["results"]) == sorted(RESULTS)
    listed = "\n".join(shown["subcategories"].values())
    for path, entry in shown["results"].items():
        name = path.rsplit("/", 1)[1]
        caption = (ROOT / "workflow" / "report" / f"{RESULTS[path]}.rst").read_text()
        # Listed by its file name, or by its labels' values where it has labels.
        assert all(v in listed for v in entry["labels"].values() or [name]), path
        assert name in entry["info"], path
        assert " ".join(caption.split()[:4]) in entry["info"], path
        if path.endswith(".png"):
            assert entry["mime"] == "image/png" and entry["width"] > 100, path
