"""The evaluation report: a quality-vs-speed chart, report.md, and a self-contained report.html
(images and GIFs inlined) that a person opens in a browser."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seaweed_apt.data.video_io import encode_video_bytes, video_grid  # noqa: E402
from seaweed_apt.diffusion.generation import GenerationConfig  # noqa: E402
from seaweed_apt.evaluation.data import class_names_of  # noqa: E402
from seaweed_apt.evaluation.motion import AXES  # noqa: E402
from seaweed_apt.evaluation.summary import HEADLINE_FIGURES, SET_FIGURES  # noqa: E402
from seaweed_apt.reporting.samples import grid_files, grid_videos  # noqa: E402
from seaweed_apt.text.encoder import embed_prompts  # noqa: E402

FAMILY_COLOURS = {"teacher": "tab:blue", "distilled": "tab:orange", "apt": "tab:green",
                  "floor": "tab:grey"}
TABLE_COLUMNS = ["system", "family", "prompt_set", "network_evaluations", "seconds_per_video",
                 "fd_efflite0", "fd_efflite0_spread", "fd_efflite0_clip", "fd_evaluator",
                 "conditional_accuracy", "worst_class", "worst_class_accuracy",
                 "motion_axis_accuracy", "speed_ratio", "jump_ratio", "boundary_jump_ratio",
                 "class_consistency", "diversity_ratio", "motion_ratio"]
HEADLINE_ROLES = {"teacher": "teacher (reference steps, CFG)", "distilled1": "distilled, 1 step",
                  "apt1": "APT, 1 step (served)", "real": "real test clips (ceiling)"}


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def quality_speed_chart(table: pd.DataFrame) -> bytes:
    """FD-EffLite0 (lower is better, bars: the two half-set values) against seconds per video;
    floors and trivial baselines as horizontal lines."""
    figure, axis = plt.subplots(figsize=(8, 5))
    reference_lines = table["family"].isin(["floor", "trivial"])
    generated = table[~reference_lines]
    for family, rows in generated.groupby("family"):
        axis.errorbar(rows["seconds_per_video"], rows["fd_efflite0"],
                      yerr=rows["fd_efflite0_spread"] / 2, fmt="o", capsize=3,
                      color=FAMILY_COLOURS.get(family, "black"), label=family)
        for _, row in rows.iterrows():
            if family != "apt" or row.get("selected", False):
                axis.annotate(row["system"], (row["seconds_per_video"], row["fd_efflite0"]),
                              fontsize=7, xytext=(4, 4), textcoords="offset points")
    axis.set_xscale("log")
    for _, row in table[reference_lines].iterrows():
        colour = "grey" if row["family"] == "floor" else "tab:red"
        axis.axhline(row["fd_efflite0"], ls="--", lw=0.8, color=colour)
        # x in axes fraction, y in data: the label sits at the left edge whatever the x range
        axis.text(0.01, row["fd_efflite0"], f"{row['family']}: {row['system']}", fontsize=7,
                  color=colour, va="bottom", transform=axis.get_yaxis_transform())
    axis.set_xlabel("seconds per video (this machine, same run)")
    axis.set_ylabel("FD-EffLite0 vs real test clips (lower is better)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure_png(figure)


def stage_curves_chart(histories: dict[str, tuple[pd.DataFrame, list[str]]]) -> bytes:
    """One row per training stage: its logged metrics against the step."""
    rows = len(histories)
    width = max(len(keys) for _, keys in histories.values())
    figure, axes = plt.subplots(rows, width, figsize=(4 * width, 3 * rows), squeeze=False)
    for row, (stage, (history, keys)) in enumerate(histories.items()):
        for column in range(width):
            axis = axes[row][column]
            if column >= len(keys) or keys[column] not in history:
                axis.axis("off")
                continue
            axis.plot(history["step"], history[keys[column]], lw=1.1)
            axis.set_title(f"{stage}: {keys[column]}", fontsize=9)
            axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure_png(figure)


def _figure(value: float) -> str:
    """A figure for a person: FD-sized numbers whole with thousands separators, others 3 digits."""
    return "" if pd.isna(value) else f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def headline_table(summary: dict) -> pd.DataFrame:
    """System by figure on the test prompts (rows: HEADLINE_ROLES), each figure with its spread
    where one run has one: FD's two half-sets, accuracy's binomial standard error."""
    rows = []
    for role, label in HEADLINE_ROLES.items():
        row = {"system": label}
        for figure, name in HEADLINE_FIGURES:
            text = _figure(summary.get(f"{figure}_{role}", float("nan")))
            if figure == "fd_efflite0" and f"fd_efflite0_{role}_spread" in summary:
                text += f" ± {_figure(summary[f'fd_efflite0_{role}_spread'] / 2)}"
            if figure == "conditional_accuracy" and f"conditional_accuracy_{role}_stderr" in \
                    summary:
                text += f" ± {summary[f'conditional_accuracy_{role}_stderr']:.2g}"
            if figure == "worst_class_accuracy" and text:
                text += f" ({summary.get(f'worst_class_{role}', '')})"
            row[name] = text
        for prompt_set, figures in SET_FIGURES:
            for figure in figures:
                value = summary.get(f"{figure}_{role}_{prompt_set}", float("nan"))
                short = "item accuracy" if figure == "conditional_accuracy" else "motion axis"
                row[f"{short} ({prompt_set})"] = _figure(value)
        rows.append(row)
    return pd.DataFrame(rows)


def class_motion_grid(clips: pd.DataFrame, system: str, class_names: list[str]) -> pd.DataFrame:
    """Rows: item classes; columns: motion axes; each cell 'item% / axis% (n)' over the
    system's test clips of that composition, seen and held-out (`*` marks held-out cells)."""
    unseen = "real_unseen" if system == "real_test" else f"{system}_unseen"
    own = clips[clips["system"].isin([system, unseen])]
    own = own[(own["label"] >= 0) & (own["axis"] != "")]
    grid = pd.DataFrame("", index=[name for name in class_names if name], columns=list(AXES))
    for (label, axis), cell in own.groupby(["label", "axis"]):
        item = (cell["predicted"] == label).mean()
        moved = (cell["axis_read"] == axis).mean()
        held_out = "*" if cell["prompt_set"].eq("unseen").all() else ""
        grid.loc[class_names[label], axis] = f"{item:.0%} / {moved:.0%} ({len(cell)}){held_out}"
    return grid


def class_motion_prompts(clips: pd.DataFrame, class_names: list[str]) -> list[str | None]:
    """One caption per (item class, motion axis), class-major in `class_names` order and axis
    order `AXES`, taken from the real test and held-out clips' own captions (so the wording is
    the data's); None where no real clip has that composition."""
    real = clips[clips["system"].isin(["real_test", "real_unseen"])]
    real = real[(real["label"] >= 0) & real["axis"].isin(AXES)]
    first = real.sort_values("caption").groupby(["label", "axis"])["caption"].first()
    return [first.get((label, axis)) for label, name in enumerate(class_names) if name
            for axis in AXES]


def class_motion_video(videos: list[np.ndarray], classes: int) -> np.ndarray:
    """Per-system videos (classes*len(AXES), T, H, W, 3), class-major, -> one tiled video
    (T, H', W', 3): a row per class, and per system a block of one column per axis."""
    per_system = [v.reshape(classes, len(AXES), *v.shape[1:]) for v in videos]
    tiles = np.stack(per_system, axis=1).reshape(-1, *videos[0].shape[1:])
    return video_grid(tiles, columns=len(videos) * len(AXES))


def row_generation(row, teacher: GenerationConfig) -> GenerationConfig:
    """How a system of the results table is drawn: the teacher's block at the row's steps, with
    the teacher's guidance for the teacher and none for a one-step generator's families."""
    guidance = teacher.guidance_scale if row.family == "teacher" else 1.0
    return teacher.model_copy(update={"num_inference_steps": int(row.steps),
                                      "guidance_scale": guidance})


def class_motion_files(headline: list, load_model, clips: pd.DataFrame,
                       clip_manifest: pd.DataFrame, sampling, teacher: GenerationConfig,
                       files: dict[str, bytes]) -> dict[str, bytes]:
    """Every item class in every motion, drawn by each headline system side by side (the first
    grid seed): adds `samples/class_by_motion.{mp4,gif}` to `files` and returns {caption: gif}
    for the report, or {} when the data has no item labels (a user's own videos)."""
    every_name = class_names_of(clip_manifest)
    class_names = [name for name in every_name if name]
    compositions = class_motion_prompts(clips, every_name)
    known = [i for i, caption in enumerate(compositions) if caption is not None]
    if not known:
        return {}
    prompts = embed_prompts([compositions[i] for i in known], teacher.text_encoder)
    videos = []
    for row in headline:
        drawn = grid_videos(load_model(row.checkpoint), prompts, sampling.seeds[:1],
                            row_generation(row, teacher))
        every = np.full((len(compositions), *drawn.shape[1:]), 255, np.uint8)  # none: white
        every[known] = drawn
        videos.append(every)
    tiled = class_motion_video(videos, len(class_names))
    for kind in ("mp4", "gif"):
        files[f"samples/class_by_motion.{kind}"] = encode_video_bytes(tiled, teacher.fps, kind)
    caption = (f"class_by_motion (rows: {', '.join(class_names)}; for each of "
               f"{', '.join(row.system for row in headline)}, one column per axis: "
               f"{', '.join(AXES)}; seed {sampling.seeds[0]})")
    return {caption: files["samples/class_by_motion.gif"]}


def confusion_matrix(clips: pd.DataFrame, system: str, class_names: list[str]) -> pd.DataFrame:
    """Counts of asked class (rows) against the evaluator's reading (columns), test prompts."""
    own = clips[(clips["system"] == system) & (clips["label"] >= 0)]
    counts = np.zeros((len(class_names), len(class_names)), dtype=int)
    np.add.at(counts, (own["label"].to_numpy(int), own["predicted"].to_numpy(int)), 1)
    named = [i for i, name in enumerate(class_names) if name]  # "": a class the data lack
    return pd.DataFrame(counts[np.ix_(named, named)], index=[class_names[i] for i in named],
                        columns=[class_names[i] for i in named])


def _html_frame(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_html(index=index, escape=True, border=0, na_rep="")


def _markdown_table(table: pd.DataFrame, columns: list[str] | None = None,
                    index: bool = False) -> str:
    columns = [c for c in (columns or list(table.columns)) if c in table]
    head = ([""] if index else []) + columns
    lines = ["| " + " | ".join(str(c) for c in head) + " |", "|" + "---|" * len(head)]
    for key, row in table.iterrows():
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(([str(key)] if index else []) + cells) + " |")
    return "\n".join(lines)


INTRO = ("The served APT checkpoint was chosen on the validation prompts, clips and seeds; every "
         "figure here is from the test prompts and seeds (disjoint from validation's and from "
         "every training and teacher-pair seed), measured once, one run on one machine: one draw "
         "of a distribution (the spread over post-training seeds: docs/results.md). "
         "FD-EffLite0 is a Fréchet distance on ImageNet EfficientNet-Lite0 frame features (not "
         "FID, not FVD) and cannot see motion: read it beside the motion figures. Held-out "
         "compositions (`unseen`): (item, motion) pairs no training video shows. In the "
         "headline, FD ± is half the difference of its two half-sets' FDs; accuracy ± its "
         "binomial standard error.")


def report_sections(table: pd.DataFrame, clips: pd.DataFrame, validation: pd.DataFrame,
                    selected: str, teacher: str, class_names: list[str]
                    ) -> list[tuple[str, pd.DataFrame, bool]]:
    """(title, table, whether its index is shown) in reading order, after the goals: the
    class-by-motion grids, the confusion matrices, selection's validation rows, every row."""
    sections = [(f"Class by motion: {name} (item read / axis followed (clips); * held out)",
                 class_motion_grid(clips, name, class_names), True)
                for name in (selected, teacher, "real_test")]
    sections += [(f"Confusion: {name} (rows asked, columns read)",
                  confusion_matrix(clips, name, class_names), True)
                 for name in (selected, teacher)]
    shown = [c for c in TABLE_COLUMNS if c in validation]
    sections.append(("Selection: validation prompts (what chose the served checkpoint)",
                     validation[shown], False))
    sections.append(("Every system and set, test prompts",
                     table[[c for c in TABLE_COLUMNS if c in table]], False))
    return sections


def render_markdown(summary: dict, goals: list[str], sections: list, images: list[str],
                    grids: list[str]) -> str:
    parts = ["# Evaluation report", "", INTRO, "", "## Headline (test prompts)", "",
             _markdown_table(headline_table(summary)), "", "## Goals", ""]
    parts += [f"- {goal}" for goal in goals]
    for title, frame, index in sections:
        parts += ["", f"## {title}", "", _markdown_table(frame, index=index)]
    parts += ["", "## Charts", ""] + [f"![{name}]({name})" for name in images]
    parts += ["", "## Sample grids (prompts as rows, seeds as columns)", ""]
    parts += [f"- {name}: ![{name}](samples/{name.split(' ')[0]}.gif)" for name in grids]
    parts += ["", "## Every headline figure (metrics.json)", ""]
    parts += [f"- **{key}**: {value:.4g}" if isinstance(value, float) else f"- **{key}**: {value}"
              for key, value in summary.items()]
    return "\n".join(parts) + "\n"


def _inline(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def render_html(summary: dict, goals: list[str], sections: list, images: dict[str, bytes],
                grids: dict[str, bytes]) -> str:
    """One file with everything inlined: it opens offline, from anywhere. The headline table and
    the goals first, then the class-by-motion grids, then the rest."""
    goal_items = "".join(
        f"<li style=\"color:{'#060' if ': met' in g else '#900' if 'NOT' in g else '#000'}\">"
        f"{html.escape(g)}</li>" for g in goals)
    body = "".join(f"<h2>{html.escape(title)}</h2>{_html_frame(frame, index)}"
                   for title, frame, index in sections)
    charts = "".join(f'<h3>{html.escape(n)}</h3><img src="{_inline(d, "image/png")}">'
                     for n, d in images.items())
    videos = "".join(
        f'<figure><img src="{_inline(d, "image/gif")}" style="image-rendering:pixelated;'
        f'width:240px"><figcaption>{html.escape(n)}</figcaption></figure>'
        for n, d in grids.items())
    summary_items = "".join(
        f"<li><b>{html.escape(k)}</b>: {v:.4g}</li>" if isinstance(v, float)
        else f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>"
        for k, v in summary.items())
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>seaweed-apt evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse;
font-size:12px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}figure{{display:
inline-block;margin:6px;text-align:center;font-size:11px}}img{{max-width:100%}}</style></head>
<body><h1>Evaluation report</h1><p>{html.escape(INTRO)}</p>
<h2>Headline (test prompts)</h2>{_html_frame(headline_table(summary), index=False)}
<h2>Goals</h2><ul>{goal_items}</ul>{body}<h2>Charts</h2>{charts}
<h2>Sample grids (prompts as rows, seeds as columns)</h2>{videos}
<h2>Every headline figure (metrics.json)</h2><ul>{summary_items}</ul></body></html>
"""


def build_report(summary: dict, goals: list[str], table: pd.DataFrame, clips: pd.DataFrame,
                 validation: pd.DataFrame, selection: dict,
                 histories: dict[str, tuple[pd.DataFrame, list[str]]], load_model,
                 clip_manifest: pd.DataFrame, evaluation, sampling,
                 teacher: GenerationConfig) -> dict[str, bytes]:
    """Every file of the report folder: charts, one grid per headline system (the fixed prompts
    and seeds of every stage's grid, drawn as the teacher's generation block says at each
    system's steps), report.md and report.html."""
    sections = report_sections(table, clips, validation, selection["system"],
                               f"teacher_{evaluation.reference_teacher_steps}step",
                               class_names_of(clip_manifest))
    table = table.assign(selected=table["system"] == selection["system"])
    on_test = table[(table["prompt_set"] == "test") & (table["family"] != "ceiling")]
    charts = {"quality_vs_speed.png": quality_speed_chart(on_test),
              "stage_curves.png": stage_curves_chart(histories)}
    selected_step = int(selection["checkpoint_step"])
    headline = [row for row in on_test.itertuples()
                if row.family in ("teacher", "distilled")
                or (row.family == "apt" and row.checkpoint_step == selected_step)]
    prompts = embed_prompts(sampling.prompts, teacher.text_encoder)
    files: dict[str, bytes] = dict(charts)
    gifs: dict[str, bytes] = {}
    all_videos = []
    for row in headline:
        videos = grid_videos(load_model(row.checkpoint), prompts, sampling.seeds,
                             row_generation(row, teacher))
        for name, data in grid_files(videos, sampling.prompts, sampling.seeds, teacher.fps,
                                     row.system).items():
            files[f"samples/{name}"] = data
        gifs[row.system] = files[f"samples/{row.system}.gif"]
        all_videos.append(videos)
    # Side by side: one row per prompt and seed, one column per system (in table order).
    side_by_side = np.stack(all_videos, axis=1).reshape(-1, *all_videos[0].shape[1:])
    tiled = video_grid(side_by_side, columns=len(all_videos))
    for kind in ("mp4", "gif"):
        files[f"samples/side_by_side.{kind}"] = encode_video_bytes(tiled, teacher.fps, kind)
    gifs = {"side_by_side (columns: " + ", ".join(r.system for r in headline) + ")":
            files["samples/side_by_side.gif"],
            **class_motion_files(headline, load_model, clips, clip_manifest, sampling, teacher,
                                 files), **gifs}
    shown = table.drop(columns=["selected"])
    files["report.md"] = render_markdown(summary, goals, sections, list(charts),
                                         list(gifs)).encode()
    files["report.html"] = render_html(summary, goals, sections, charts, gifs).encode()
    files["systems.csv"] = shown.to_csv(index=False).encode()
    return files
