"""The paraphrase set: test prompts reworded unlike any training caption, to tell a generator that
reads the item's name from one that learned the captions' exact wording."""

from __future__ import annotations


def paraphrase_captions(captions: list[str], templates: dict[str, str]) -> list[str]:
    """'a {item} {motion}' -> templates[motion] with {item} filled in, e.g.
    'a bag bouncing up and down' -> 'rising and falling, one bag'.

    Raises:
        ValueError: naming the first caption that no template's motion phrase ends, or one that
            does not start with 'a ' (a multi-item caption: 'a bag ... and a coat ...').
    """
    reworded = []
    for caption in captions:
        motion = next((m for m in templates if caption.endswith(f" {m}")), None)
        item = caption[2:-len(motion) - 1] if motion and caption.startswith("a ") else ""
        if not item or " and a " in item:
            raise ValueError(f"caption {caption!r} is not 'a <item> <motion>' with a motion "
                             f"among {sorted(templates)}: no paraphrase for it")
        reworded.append(templates[motion].format(item=item))
    return reworded
