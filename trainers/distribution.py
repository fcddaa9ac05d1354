"""How a trainer spreads over devices: `--strategy`, `--mixed_precision`, and which worker writes.

The model and optimizer are built under `strategy.scope()`; `--batch_size` is the
global batch, split evenly across replicas. Only the chief writes TensorBoard logs,
checkpoints and exports; every worker keeps its own backup directory.
"""

import os

import keras
import tensorflow as tf
from absl import flags

flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy: one device, all local GPUs (or --logical_cpus), "
                  "workers from TF_CONFIG, or a TPU.")
flags.DEFINE_string("tpu", None, "TPU address for --strategy=tpu ('' or 'local' on a TPU VM).")
flags.DEFINE_integer("logical_cpus", None, "Split the CPU into this many logical devices (to try "
                     "--strategy=mirrored without GPUs).", lower_bound=1)
flags.DEFINE_enum("mixed_precision", "float32", ["float32", "mixed_bfloat16", "mixed_float16"],
                  "Keras dtype policy: weights stay float32; softmax, norms and the loss compute in float32; "
                  "mixed_float16 adds dynamic loss scaling.")

FLAGS = flags.FLAGS


def strategy_from_flags():
    """The `tf.distribute.Strategy` named by `--strategy` (call before any TF op runs)."""
    if FLAGS.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * FLAGS.logical_cpus)
    if FLAGS.strategy == "default":
        return tf.distribute.get_strategy()
    if FLAGS.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy([d.name for d in gpus or tf.config.list_logical_devices("CPU")])
    if FLAGS.strategy == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                             "(cluster addresses and this worker's task).")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if FLAGS.tpu is None:
        raise ValueError("--strategy=tpu needs --tpu (an address, or '' on a TPU VM).")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=FLAGS.tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def set_precision_from_flags():
    keras.mixed_precision.set_global_policy(FLAGS.mixed_precision)


def worker_index(strategy):
    """This process's task index (0 outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return (resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def is_chief(strategy):
    """True for the one process that writes logs, checkpoints and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def supports_jit(strategy):
    """XLA compiles one program per device; logical CPU replicas share one, so they run without it."""
    if strategy.num_replicas_in_sync == 1:
        return True
    devices = strategy.extended.worker_devices
    return len(devices) == 1 or not all("CPU" in device for device in devices)


def check_global_batch(batch_size, strategy):
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"--batch_size={batch_size} (the global batch) must be a multiple of the "
                         f"{strategy.num_replicas_in_sync} replicas.")
