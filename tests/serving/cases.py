"""Malformed `POST /generate` bodies and the status each must get (limits of conf/test)."""

LONG_PROMPT = "a sneaker " * 40  # 400 characters, over max_prompt_chars = 300

BAD_BODIES: list[tuple[str, bytes, int]] = [
    ("empty body", b"", 400),
    ("invalid json", b"{prompt: 'x'}", 400),
    ("truncated json", b'{"prompt": "a bag"', 400),
    ("not utf-8", b'{"prompt": "\xff\xfe"}', 400),
    ("json array", b'["a bag"]', 422),
    ("json string", b'"a bag"', 422),
    ("json null", b"null", 422),
    ("missing prompt", b'{"seed": 1}', 422),
    ("empty prompt", b'{"prompt": ""}', 422),
    ("blank prompt", b'{"prompt": "   "}', 422),
    # Only zero-width space, word joiner and zero-width joiner: nothing visible.
    ("invisible prompt", b'{"prompt": "\\u200b\\u2060\\u200d"}', 422),
    # A lone surrogate is legal in JSON text and no tokenizer takes it (a 500 before).
    ("lone surrogate in the prompt", b'{"prompt": "a bag \\ud800 bouncing"}', 422),
    ("prompt is a number", b'{"prompt": 5}', 422),
    ("prompt is a list", b'{"prompt": ["a", "b"]}', 422),
    ("prompt is null", b'{"prompt": null}', 422),
    ("prompt too long", f'{{"prompt": "{LONG_PROMPT}"}}'.encode(), 422),
    ("seed is a string", b'{"prompt": "a bag", "seed": "7"}', 422),
    ("seed is a float", b'{"prompt": "a bag", "seed": 1.5}', 422),
    ("seed is a bool", b'{"prompt": "a bag", "seed": true}', 422),
    ("seed negative", b'{"prompt": "a bag", "seed": -1}', 422),
    ("seed too large", b'{"prompt": "a bag", "seed": 4294967296}', 422),
    ("num_videos zero", b'{"prompt": "a bag", "num_videos": 0}', 422),
    ("num_videos too many", b'{"prompt": "a bag", "num_videos": 5}', 422),
    ("num_videos a string", b'{"prompt": "a bag", "num_videos": "2"}', 422),
    ("unknown format", b'{"prompt": "a bag", "format": "avi"}', 422),
    ("format not a string", b'{"prompt": "a bag", "format": 3}', 422),
    ("unknown field", b'{"prompt": "a bag", "steps": 25}', 422),
    ("display_size zero", b'{"prompt": "a bag", "display_size": 0}', 422),
    ("display_size over the limit", b'{"prompt": "a bag", "display_size": 5000}', 422),
    ("display_size with npy", b'{"prompt": "a bag", "format": "npy", "display_size": 64}', 422),
    ("body over the size limit", b'{"prompt": "a bag", "pad": "' + b"x" * 5000 + b'"}', 413),
    # Nesting under the size limit reached Python's recursion limit in json.loads: a 500.
    ("prompt nested 2,000 deep (4,012 bytes)", b'{"prompt": ' + b"[" * 2000 + b"]" * 2000 + b"}",
     400),
    ("array nested 2,000 deep", b"[" * 2000 + b"]" * 2000, 400),
    ("objects nested 600 deep", b'{"a":' * 600 + b"1" + b"}" * 600, 400),
    ("unclosed nesting", b"[" * 4000, 400),
    ("nested one past max_json_depth", b'{"prompt": [[[[[[[["a"]]]]]]]]}', 400),
    ("nested at max_json_depth, wrong type", b'{"prompt": [[[[[[["a"]]]]]]]}', 422),
]
