"""Regenerate the bundled demo recordings: short stereo 8 kHz calls in several formats.

Run with `make samples`. Needs espeak-ng. Channel 0 is the agent, channel 1 the customer.
"""

from __future__ import annotations

from pathlib import Path

from samples.synth import Utterance, call, write

HERE = Path(__file__).resolve().parent
CALLS_DIR = HERE / "calls"
RATE = 8000

CALLS: dict[str, tuple[float, list[Utterance]]] = {
    "billing-call.wav": (
        9.0,
        [
            Utterance(0, 0.4, "Thank you for calling. How can I help you today?"),
            Utterance(1, 3.2, "Hi. I was charged twice on my bill and I am really upset."),
            Utterance(0, 6.8, "I am so sorry. Let me fix that."),
        ],
    ),
    "delivery-call.mp3": (
        8.0,
        [
            Utterance(1, 0.3, "Where is my package? It was due last week."),
            Utterance(0, 3.5, "I can see it left the warehouse this morning."),
            Utterance(1, 6.2, "Oh great, thank you!"),
        ],
    ),
    "upgrade-call.flac": (
        7.0,
        [
            Utterance(0, 0.5, "Good morning, you are eligible for a free upgrade."),
            Utterance(1, 4.0, "Wow, that is wonderful news."),
        ],
    ),
}


def main() -> None:
    for name, (seconds, utterances) in CALLS.items():
        path = write(CALLS_DIR / name, call(utterances, seconds, RATE), RATE)
        print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
