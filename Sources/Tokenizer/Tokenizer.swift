// Tokenizer layer: Hugging Face tokenizer.json and GPT-2 vocabularies (issue #4).
