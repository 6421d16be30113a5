// Tests of the Data layer live in this target.
