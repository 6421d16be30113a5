// Data layer: dataset formats, prompt templates, samples with stable ids (issue #5).
