// Tests of the Model layer (issue #3) live in this target.
