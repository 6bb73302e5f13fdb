"""all-MiniLM-L6-v2 as ONNX Runtime runs it gives the model's published behaviour; int8 weights stay close;
the detector's vector joins it with bge-small-en-v1.5."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from classifier.similarity.embedding import DIMENSIONS, Embedder
from classifier.similarity.sentence import BGE_DIMENSIONS, BGE_SHARE, Bge, SentenceModel


@cache
def model() -> Embedder:
    return Embedder()


def cosine(a: str, b: str) -> float:
    vectors = model().embed([a, b])
    return float(vectors[0] @ vectors[1])


def test_each_text_becomes_one_unit_vector() -> None:
    vectors = model().embed(["Customer logos on the site", "A webinar", "x"])
    assert vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert model().embed([]).shape == (0, DIMENSIONS)


def test_padding_in_a_batch_does_not_change_a_vector() -> None:
    alone = model().embed(["Brand marks on our public pages"])[0]
    batched = model().embed(["Brand marks on our public pages",
                             "A much longer text about a landing page for the Globex account renewal in January"])[0]
    assert np.allclose(alone, batched, atol=1e-5)


@pytest.mark.parametrize(("a", "b", "published"), [
    # The scores sentence-transformers' documentation prints for all-MiniLM-L6-v2.
    ("A man is eating food.", "A man is eating a piece of bread.", 0.7553),
    ("The new movie is awesome", "The new movie is so great", 0.8939),
    ("The cat sits outside", "The dog plays in the garden", 0.2838),
    ("A man is playing guitar", "A woman watches TV", -0.0327),
])
def test_scores_match_the_published_model(a: str, b: str, published: float) -> None:
    assert cosine(a, b) == pytest.approx(published, abs=1e-3)


def test_paraphrases_score_above_unrelated_requests() -> None:
    paraphrase = cosine("Customer logos on the site", "Brand marks on our public pages")
    unrelated = cosine("Customer logos on the site", "Quarterly pipeline report for the board")
    assert paraphrase > unrelated + 0.3


@cache
def quantized() -> Embedder:
    return Embedder(quantized=True)


@pytest.mark.parametrize(("a", "b", "published"), [
    ("A man is eating food.", "A man is eating a piece of bread.", 0.7553),
    ("The new movie is awesome", "The new movie is so great", 0.8939),
    ("The cat sits outside", "The dog plays in the garden", 0.2838),
    ("Customer logos on the site", "Brand marks on our public pages", None),
])
def test_int8_weights_keep_scores_within_a_few_hundredths(a: str, b: str, published: float | None) -> None:
    vectors = quantized().embed([a, b])
    assert quantized().quantized and not model().quantized
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    score = float(vectors[0] @ vectors[1])
    assert score == pytest.approx(cosine(a, b), abs=0.05)
    assert score != pytest.approx(cosine(a, b), abs=1e-4)  # the int8 model, not the float one again
    if published is not None:
        assert score == pytest.approx(published, abs=0.05)


@cache
def pair() -> SentenceModel:
    return SentenceModel()


def test_the_detectors_vector_joins_both_models_weighed_by_their_share() -> None:
    texts = ["Customer logos on the site", "Brand marks on our public pages", "Quarterly pipeline report"]
    joined = pair().embed(texts)
    assert joined.shape == (3, DIMENSIONS + BGE_DIMENSIONS)
    assert np.allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)
    minilm = pair().minilm.embed(texts[:1]), pair().minilm.embed(texts[1:2])
    bge = pair().bge.embed(texts[:1])[0], pair().bge.embed(texts[1:2])[0]  # int8: alone, as the pair embeds
    expected = (1 - BGE_SHARE) * float(minilm[0][0] @ minilm[1][0]) + BGE_SHARE * float(bge[0] @ bge[1])
    assert float(joined[0] @ joined[1]) == pytest.approx(expected, abs=1e-5)
    assert float(joined[0] @ joined[1]) > float(joined[0] @ joined[2]) + 0.2  # a paraphrase above other work


def test_bge_reads_like_its_model_card_says() -> None:
    bge = pair().bge
    vectors = bge.embed(["A man is eating food.", "A man is eating a piece of bread.", "The cat sits outside"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.15
    assert bge.embed([]).shape == (0, BGE_DIMENSIONS)


def test_a_missing_bge_model_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"fetch_model\.py"):
        Bge(tmp_path)
