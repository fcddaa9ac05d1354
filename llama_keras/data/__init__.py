"""Offline corpora and tf.data pipelines."""

from llama_keras.data.corpora import Document
from llama_keras.data.corpora import brown_corpus
from llama_keras.data.corpora import python_stdlib
from llama_keras.data.corpora import state_of_the_union
from llama_keras.data.packing import language_model_dataset
from llama_keras.data.packing import pack_documents
from llama_keras.data.packing import split_documents
from llama_keras.data.packing import tokenize_documents
from llama_keras.data.sentiment import vader_polarity
from llama_keras.data.sentiment import vader_ratings
