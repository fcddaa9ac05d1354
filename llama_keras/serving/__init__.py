"""SavedModel export for stock TF Serving, and the check that keeps it servable."""

from llama_keras.serving.export import export_for_serving
from llama_keras.serving.op_check import check_servable_ops
from llama_keras.serving.op_check import saved_model_op_types
