"""A compatibility shim for `fit`/`evaluate` under `tf.distribute` strategies.

Keras 3.15's TensorFlow trainer has three defects on this path (the second is
tensorflow/tensorflow#72388), each reproduced by the tests beside this package:

1. Before the first step it takes the first *data batch* from the training
   iterator and averages it across replicas (`strategy.reduce("MEAN", batch)`),
   only to read its shapes and dtypes. That fails on bool tensors under
   `MirroredStrategy` ("AddN ... bool"), on any nested batch under
   `MultiWorkerMirroredStrategy` ("Attempt to convert a value (PerReplica...)"),
   and, where it works, the batch is gone: with `steps_per_epoch` the iterator
   is not restarted, so training silently skips its first batch. We read the
   specs from the dataset's `element_spec` instead: no batch, no collective.
2. Under multi-worker it averages each step's scalar logs with
   `strategy.reduce("MEAN", value, axis=0)`, which fails on rank-0 tensors
   ("Invalid reduction dimension 0 for input with 0 dimensions"). We hand the
   logs over with shape `[1]`; the reduction then yields the replica mean.
3. Its optimizers clip gradients (`clipnorm`, `global_clipnorm`, `clipvalue`)
   *per replica, before* summing them across replicas, so a clip norm means
   something else on N replicas than on one device. `clip_after_all_reduce`
   moves the clipping after the sum.

Our data already avoids bool tensors (int32 padding masks); the mixin and the
optimizer fix cover the rest. Neither changes anything on a single device.
"""

import types

import tensorflow as tf
from keras import tree


class DistributedTrainingFix:
    """Mixin placed before `keras.Model` (or a keras-hub task) in the bases."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and self._distribute_strategy is not None:
            data_batch = iterator.data_adapter.get_tf_dataset().element_spec  # TensorSpecs: shape, dtype
        return super()._maybe_symbolic_build(data_batch=data_batch)

    def train_step(self, data):
        return self._reducible_logs(super().train_step(data))

    def test_step(self, data):
        return self._reducible_logs(super().test_step(data))

    def _reducible_logs(self, logs):
        strategy = self._distribute_strategy
        spans_workers = (strategy is not None and strategy.num_replicas_in_sync > 1
                         and strategy.num_replicas_in_sync > len(strategy.extended.worker_devices))
        if not spans_workers:
            return logs
        return tree.map_structure(lambda value: tf.reshape(value, [1]) if value.shape.rank == 0 else value, logs)


def clip_after_all_reduce(optimizer):
    """Makes `optimizer` (a Keras TF optimizer) clip the summed gradients, as on one
    device, instead of each replica's share. Returns `optimizer`."""
    cls = type(optimizer)

    def all_reduce_then_clip(self, grads_and_vars):
        grads_and_vars = list(cls._all_reduce_sum_gradients(self, grads_and_vars))
        clipped = cls._clip_gradients(self, [grad for grad, _ in grads_and_vars])
        return [(grad, variable) for grad, (_, variable) in zip(clipped, grads_and_vars)]

    optimizer._clip_gradients = lambda grads: grads
    optimizer._all_reduce_sum_gradients = types.MethodType(all_reduce_then_clip, optimizer)
    return optimizer
