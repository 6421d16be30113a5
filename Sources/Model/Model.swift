// Model layer: configurations, safetensors, forward and backward (issue #3).
