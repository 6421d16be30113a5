// Tests of the Scoring layer live in this target.
