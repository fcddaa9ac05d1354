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
from llama_keras.data.translation import bible_verse_pairs
from llama_keras.data.translation import gettext_pairs
from llama_keras.data.questions import QAExample
from llama_keras.data.questions import constant_questions
from llama_keras.data.dialogue import chatterbot_conversations
from llama_keras.data.spam import spam_assassin
from llama_keras.data.listops import listops
