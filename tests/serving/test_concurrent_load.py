"""One loaded SavedModel under load: 16 threads x 50 requests of mixed lengths get
exactly the sequential answers, and resident memory stays flat."""

import concurrent.futures

import pytest
import tensorflow as tf

import llama_keras as lk
from tests.fixtures import SENTENCES
from tests.fixtures import tiny_causal_lm

THREADS, REQUESTS_PER_THREAD = 16, 50
PROMPTS = ["", "The sky", SENTENCES[0], SENTENCES[2], " ".join(SENTENCES) * 12]  # up to ~1.5k tokens


def resident_bytes():
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    lm = tiny_causal_lm(max_coarse_chunks=2)
    export_dir = str(tmp_path_factory.mktemp("export") / "1")
    lk.serving.export_for_serving(lm, export_dir, max_new_tokens=4)
    signature = tf.saved_model.load(export_dir).signatures["serving_default"]

    def ask(prompts, max_new_tokens):
        out = signature(prompts=tf.constant(prompts), max_new_tokens=tf.constant(max_new_tokens))
        return tuple(out["generated"].numpy().tolist())

    return ask


def request(i):
    """Mixed requests: 1-3 prompts of any length, 1-6 new tokens."""
    count = 1 + i % 3
    return tuple(PROMPTS[(i + k) % len(PROMPTS)] for k in range(count)), 1 + i % 6


def test_concurrent_requests_get_the_sequential_answers_and_memory_stays_flat(serve):
    requests = [request(i) for i in range(THREADS * REQUESTS_PER_THREAD)]
    # Sequential answers, one prompt at a time: batching must not change a row's answer.
    expected = {(prompt, n): serve([prompt], n)[0] for prompts, n in requests for prompt in prompts}
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:  # warm-up: every thread has run once
        list(pool.map(lambda r: serve(*r), requests[: THREADS * 2]))
    warm = resident_bytes()

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda r: serve(*r), requests))

    for (prompts, n), answer in zip(requests, answers):
        assert answer == tuple(expected[(prompt, n)] for prompt in prompts)
    assert resident_bytes() <= 1.10 * warm
