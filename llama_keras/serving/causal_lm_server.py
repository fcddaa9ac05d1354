"""Generation servers: greedy decoding in the graph, string in, string out.

A `tf.while_loop` over `LLAMACausalLM.call_with_cache`, tokenization through TF
Text; nothing needs XLA or Python at serving time.
"""

import tensorflow as tf

from llama_keras.serving.task_server import TaskServer
from llama_keras.serving.task_server import serving_function

# A batch whose prompt lengths differ by more than this is generated row by row.
_MAX_REFED_TOKENS = 32


class GreedyGenerationServer(TaskServer):
    """Greedy cached generation in the graph, shared by the causal LM, translation
    and chat servers. `max_prompt_tokens` and `max_new_tokens_limit` bound each
    request's work; `max_new_tokens` is the default signature's budget."""

    def __init__(self, causal_lm, max_new_tokens=64, max_prompt_tokens=32768, max_new_tokens_limit=4096):
        for name, value, low in (("max_new_tokens", max_new_tokens, 0),
                                 ("max_prompt_tokens", max_prompt_tokens, 1),
                                 ("max_new_tokens_limit", max_new_tokens_limit, max_new_tokens)):
            if int(value) < low:
                raise ValueError(f"`{name}` must be >= {low}, got {value}.")
        super().__init__(causal_lm)
        self.default_max_new_tokens = int(max_new_tokens)
        self.max_prompt_tokens = max_prompt_tokens
        self.max_new_tokens_limit = max_new_tokens_limit

    def _prompt_ids(self, text, keep_last, separator):
        """Text `[B]` -> ragged `<s> tokens` (+ `</s>` if `separator`), each row keeping its
        first (or, if `keep_last`, last) `max_prompt_tokens` tokens."""
        tokenizer = self.tokenizer
        pieces = tokenizer(text)
        pieces = pieces[:, -self.max_prompt_tokens:] if keep_last else pieces[:, : self.max_prompt_tokens]
        column = [tf.shape(text)[0], 1]
        parts = [tf.fill(column, tf.cast(tokenizer.start_token_id, pieces.dtype)), pieces]
        if separator:
            parts.append(tf.fill(column, tf.cast(tokenizer.end_token_id, pieces.dtype)))
        return tf.concat(parts, axis=1)

    def _continue(self, prompt_ids, max_new_tokens, keep_prompt):
        """Ragged prompt ids `[B, None]` -> text `[B]`: each prompt (if `keep_prompt`)
        and its greedy continuation, up to `max_new_tokens` tokens or `</s>`."""
        return tf.cond(prompt_ids.nrows() == 0, lambda: tf.zeros([0], tf.string),
                       lambda: self._continue_rows(prompt_ids, max_new_tokens, keep_prompt))

    def _continue_rows(self, prompt_ids, max_new_tokens, keep_prompt):
        """`_continue` for a batch of at least one prompt."""
        tokenizer = self.tokenizer
        lengths = tf.cast(prompt_ids.row_lengths(), tf.int32)
        max_new_tokens = tf.clip_by_value(max_new_tokens, 0, self.max_new_tokens_limit)
        total = tf.reduce_max(lengths) + max_new_tokens
        shape = tf.stack([tf.cast(prompt_ids.nrows(), tf.int32), total])
        token_ids = tf.cast(prompt_ids.to_tensor(default_value=tokenizer.pad_token_id, shape=shape), tf.int32)
        in_prompt = tf.sequence_mask(lengths, total)
        shortest = tf.reduce_min(lengths)
        token_ids = tf.cond(
            tf.reduce_max(lengths) - shortest <= _MAX_REFED_TOKENS,
            lambda: self._greedy(token_ids, in_prompt, shortest, total),
            lambda: self._greedy_rows(token_ids, lengths, max_new_tokens))
        # Keep each row's prompt (or not), then its continuation up to and including `</s>`.
        generated = tf.logical_not(in_prompt)
        is_end = tf.cast((token_ids == tokenizer.end_token_id) & generated, tf.int32)
        kept = tf.sequence_mask(lengths + max_new_tokens, total) & (tf.cumsum(is_end, axis=1, exclusive=True) == 0)
        if not keep_prompt:
            kept = kept & generated
        for special in tokenizer.special_token_ids:  # stripped, as `generate()` does
            kept = kept & (token_ids != special)
        return tokenizer.detokenize(tf.ragged.boolean_mask(token_ids, kept))

    def _greedy_rows(self, token_ids, lengths, max_new_tokens):
        """Generates each row of `token_ids [B, L]` on its own: its prompt in one
        parallel prefill, then `max_new_tokens` cached steps. For prompts of very
        different lengths, where one loop over the batch would re-feed the longer
        prompts token by token from the shortest prompt's end."""

        def one_row(row_and_length):
            row, length = row_and_length
            end = length + max_new_tokens
            filled = self._greedy(row[None, :end], tf.sequence_mask([length], end), length, end)[0]
            return tf.concat([filled, row[end:]], axis=0)

        return tf.map_fn(one_row, (token_ids, lengths), fn_output_signature=tf.TensorSpec([None], tf.int32))

    def _greedy(self, token_ids, in_prompt, first, total):
        """Fills the positions after each prompt with argmax tokens, in one loop over
        the batch from position `first` (the shortest prompt's length)."""
        lm = self.task
        _, cache = lm._build_cache(token_ids, first - 1)
        positions = tf.range(total)[None, :]

        def step(index, token_ids, cache):
            token = tf.gather(token_ids, [index - 1], axis=1)
            logits, _, cache = lm.call_with_cache(token, cache, index - 1)
            best = tf.cast(tf.argmax(logits[:, 0], axis=-1), tf.int32)
            fill = (positions == index) & tf.logical_not(in_prompt)
            return index + 1, tf.where(fill, best[:, None], token_ids), cache

        _, token_ids, _ = tf.while_loop(lambda index, *_: index < total, step, (first, token_ids, cache))
        return token_ids


class TranslationServer(GreedyGenerationServer):
    """`serving_default(source: string[None]) -> translation: string[None]` (`max_new_tokens`
    tokens at most) and `translate(source, max_new_tokens: int32 scalar)`, for
    `LLAMASeq2SeqLM`: the prompt is `<s> source </s>`, as in training. Sources keep
    their first `max_prompt_tokens` tokens."""

    @serving_function(tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32))
    def translate(self, source, max_new_tokens):
        prompt_ids = self._prompt_ids(source, keep_last=False, separator=True)
        return {"translation": self._continue(prompt_ids, max_new_tokens, keep_prompt=False)}

    @serving_function(tf.TensorSpec([None], tf.string))
    def translate_default(self, source):
        return self.translate(source, tf.constant(self.default_max_new_tokens, tf.int32))

    def signatures(self):
        return {"serving_default": self.translate_default, "translate": self.translate}


class CausalLMServer(GreedyGenerationServer):
    """`serving_default(prompts: string[None], max_new_tokens: int32 scalar) ->
    generated: string[None]` and `generate_default(prompts)`."""

    @serving_function(tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32))
    def generate(self, prompts, max_new_tokens):
        """Greedy continuation of each prompt, `<s>` prepended, up to `max_new_tokens`
        tokens or `</s>` -> the prompt and continuation as text (as `generate()`).

        Every request gets an answer: invalid UTF-8 is replaced, prompts keep their
        last `max_prompt_tokens` tokens, `max_new_tokens` is clipped to
        `[0, max_new_tokens_limit]`, and an empty batch returns an empty batch.
        """
        prompt_ids = self._prompt_ids(prompts, keep_last=True, separator=False)
        return {"generated": self._continue(prompt_ids, max_new_tokens, keep_prompt=True)}

    @serving_function(tf.TensorSpec([None], tf.string))
    def generate_default(self, prompts):
        return self.generate(prompts, tf.constant(self.default_max_new_tokens, tf.int32))

    def signatures(self):
        return {"serving_default": self.generate, "generate_default": self.generate_default}
