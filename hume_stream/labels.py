"""Label sets the models emit (PROTOCOL.md §7). Clients match scores by name, never position."""

from __future__ import annotations

from typing import Final

#: The 48 expressions of the face, prosody, burst and facemesh models, in emitted order.
EMOTIONS: Final[tuple[str, ...]] = (
    "Admiration", "Adoration", "Aesthetic Appreciation", "Amusement", "Anger", "Anxiety",
    "Awe", "Awkwardness", "Boredom", "Calmness", "Concentration", "Confusion",
    "Contemplation", "Contempt", "Contentment", "Craving", "Determination",
    "Disappointment", "Disgust", "Distress", "Doubt", "Ecstasy", "Embarrassment",
    "Empathic Pain", "Entrancement", "Envy", "Excitement", "Fear", "Guilt", "Horror",
    "Interest", "Joy", "Love", "Nostalgia", "Pain", "Pride", "Realization", "Relief",
    "Romance", "Sadness", "Satisfaction", "Desire", "Shame", "Surprise (negative)",
    "Surprise (positive)", "Sympathy", "Tiredness", "Triumph",
)  # fmt: skip

#: The language model's 53: the 48 plus five of its own.
LANGUAGE_EMOTIONS: Final[tuple[str, ...]] = (
    *EMOTIONS, "Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm",
)  # fmt: skip

#: Sentiment levels "1" (most negative) … "9" (most positive).
SENTIMENT: Final[tuple[str, ...]] = tuple(str(i) for i in range(1, 10))

TOXICITY: Final[tuple[str, ...]] = (
    "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate",
)  # fmt: skip

FACS: Final[tuple[str, ...]] = (
    "AU1 Inner Brow Raise", "AU2 Outer Brow Raise", "AU4 Brow Lowerer", "AU5 Upper Lid Raise",
    "AU6 Cheek Raise", "AU7 Lids Tight", "AU9 Nose Wrinkle", "AU10 Upper Lip Raiser",
    "AU11 Nasolabial Furrow Deepener", "AU12 Lip Corner Puller", "AU14 Dimpler",
    "AU15 Lip Corner Depressor", "AU16 Lower Lip Depress", "AU17 Chin Raiser",
    "AU18 Lip Pucker", "AU19 Tongue Show", "AU20 Lip Stretch", "AU22 Lip Funneler",
    "AU23 Lip Tightener", "AU24 Lip Presser", "AU25 Lips Part", "AU26 Jaw Drop",
    "AU27 Mouth Stretch", "AU28 Lips Suck", "AU32 Bite", "AU34 Puff", "AU37 Lip Wipe",
    "AU38 Nostril Dilate", "AU43 Eye Closure", "AU53 Head Up", "AU54 Head Down",
    "Hand over Mouth", "Hand over Eyes", "Hand over Forehead", "Hand over Face",
    "Hand touching Face / Head",
)  # fmt: skip

DESCRIPTIONS: Final[tuple[str, ...]] = (
    "Beaming", "Biting lip", "Cheering", "Cringe", "Cry", "Eyes closed", "Face in hands",
    "Frown", "Gasp", "Glare", "Glaring", "Grimace", "Grin", "Jaw drop", "Laugh",
    "Licking lip", "Pout", "Scowl", "Smile", "Smirk", "Snarl", "Squint", "Sulking",
    "Tongue out", "Wide-eyed", "Wince", "Wrinkled nose",
)  # fmt: skip

# ---------------------------------------------------------------- v1 realtime audio
# v1 names are open strings (PROTOCOL-v1.md §2.2): the service draws expressions from 415
# lowercase names and may add more, so a client must treat an unknown name as a new
# prediction. These are the names the public documentation shows; the emulator scores them.

#: Audio expressions: the v0 emotions in v1 spelling, plus names of the v1 vocabulary.
AUDIO_EXPRESSIONS: Final[tuple[str, ...]] = (
    *(name.lower() for name in EMOTIONS),
    "abhorrence", "chuckling", "dumbfoundedness", "eagerness", "feeling uplifted",
    "feeling upset", "neutral", "pleasure", "pondering",
)  # fmt: skip

#: Qualities of the voice and the recording.
VOICE_ATTRIBUTES: Final[tuple[str, ...]] = (
    "background music", "calm", "clear", "fast", "husky", "monotone",
)  # fmt: skip
