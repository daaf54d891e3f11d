"""hdnn.reporting: the paper's column order and the one LaTeX writer the tables share."""

import pandas as pd

from hdnn.reporting import latex_table, paper_order


def test_paper_order_follows_the_paper_whatever_the_run_order():
    assert paper_order(["H2", "MS1", "H1", "MS1"]) == ["MS1", "H1", "H2"]


def test_latex_table_escapes_labels_cells_and_caption():
    wide = pd.DataFrame({"acc_1 % & #$": ["50 & 60 ± 1 †"], "run #1": ["$5"]},
                        index=pd.MultiIndex.from_tuples([("swiss_roll", 4)], names=["data_set", "n"]))
    tex = latex_table(wide, "Protocol a_b: accuracy (%) & more, ± sd", index_names=["data set", "layers"])
    lines = tex.splitlines()
    assert lines[:5] == [r"\begin{table}[t]", r"\centering",
                         r"\caption{Protocol a\_b: accuracy (\%) \& more, $\pm$ sd}",
                         r"\begin{tabular}{llll}", r"\toprule"]
    assert lines[5] == r"data set & layers & acc\_1 \% \& \#\$ & run \#1 \\"
    assert lines[6] == r"\midrule"
    assert lines[7] == r"swiss\_roll & 4 & 50 \& 60 $\pm$ 1 $^\dagger$ & \$5 \\"
    assert lines[8:] == [r"\bottomrule", r"\end{tabular}", r"\end{table}"]


def test_latex_table_aligns_the_index_as_asked():
    wide = pd.DataFrame([["a", "b"]], index=pd.Index([0], name="layers"), columns=["MS1 train", "MS1 test"])
    tex = latex_table(wide, "Table 2", index_align="r")
    assert r"\begin{tabular}{rll}" in tex and r"layers & MS1 train & MS1 test \\" in tex
