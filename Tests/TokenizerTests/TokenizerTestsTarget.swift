// Tests of the Tokenizer layer (issue #4) live in this target.
