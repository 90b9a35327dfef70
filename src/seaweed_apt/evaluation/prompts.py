"""The prompt sets of the two evaluation passes, each with its real clips, its text and its seeds.

Validation: captions of real validation clips (what selection reads). Test: captions of real test
clips of seen (item, motion) compositions, of held-out ones (`unseen`, where the data hold any
out), and the seen ones reworded (`paraphrase`, the test seeds again, so only the wording
differs). The real clips of every set are drawn by `evaluation.seed`; the noise by `prompt_seeds`.
"""

from __future__ import annotations

import logging

from seaweed_apt.config.evaluation import EvaluationConfig
from seaweed_apt.data.curated import CuratedClips
from seaweed_apt.evaluation.data import LabelledClips, load_split_clips, unseen_composition_mask
from seaweed_apt.evaluation.paraphrase import paraphrase_captions
from seaweed_apt.evaluation.run import PromptSet, caption_text, prompt_seeds
from seaweed_apt.text.batch import TextBatch
from seaweed_apt.text.caption_table import load_caption_table

logger = logging.getLogger(__name__)


def prompt_set(name: str, clips: LabelledClips, caption_table: TextBatch, seed: int,
               text: TextBatch | None = None) -> PromptSet:
    """The clips' own captions (rows of `caption_table`) unless `text` rewords them."""
    return PromptSet(clips, caption_text(caption_table, clips.caption_row) if text is None
                     else text, prompt_seeds(seed, name, len(clips)))


def selection_prompts(clips: CuratedClips, config: EvaluationConfig
                      ) -> tuple[LabelledClips, dict[str, PromptSet]]:
    """The validation pass: its reference clips (every labelled one, or `reference_clips`) and
    `num_samples` prompts, with their captions from the caption table.

    Raises:
        ValueError: the split has no labelled clip.
    """
    reference = load_split_clips(clips, "val", limit=config.reference_clips, seed=config.seed)
    asked = load_split_clips(clips, "val", limit=config.num_samples, seed=config.seed + 1)
    caption_table = load_caption_table(clips.caption_table_uri)
    return reference, {"val": prompt_set("val", asked, caption_table, config.seed)}


def reported_prompts(clips: CuratedClips, config: EvaluationConfig, embed: callable
                     ) -> tuple[LabelledClips, dict[str, PromptSet], LabelledClips]:
    """The test pass on the curated clips: its reference clips, the prompt sets `test`,
    `paraphrase` and (where the test split has held-out compositions) `unseen`, and real train
    clips for the floors.
    `embed(prompts) -> TextBatch` encodes the rewordings.

    Raises:
        ValueError: the test split has no labelled clip of a seen composition, or a caption has
            no paraphrase template.
    """
    manifest, caption_table = clips.manifest, load_caption_table(clips.caption_table_uri)
    reference = load_split_clips(clips, "test", limit=config.reference_clips, seed=config.seed)
    seen = load_split_clips(clips, "test", limit=config.num_samples, seed=config.seed + 1,
                            compositions_seen=True)
    floors = load_split_clips(clips, "train", limit=config.num_samples, seed=config.seed + 2)
    reworded = embed(paraphrase_captions(seen.captions, config.paraphrases))
    sets = {"test": prompt_set("test", seen, caption_table, config.seed),
            "paraphrase": prompt_set("paraphrase", seen, caption_table, config.seed, reworded)}
    if unseen_composition_mask(manifest)[manifest["split"] == "test"].any():
        unseen = load_split_clips(clips, "test", limit=config.num_samples,
                                  seed=config.seed + 3, compositions_seen=False)
        sets["unseen"] = prompt_set("unseen", unseen, caption_table, config.seed)
    else:
        logger.warning("no test clip is of a held-out (item, motion) composition: no unseen rows")
    return reference, sets, floors
