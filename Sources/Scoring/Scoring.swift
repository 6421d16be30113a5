// Scoring layer: the three XTF attributes' rules, thresholds, masks and mergeable statistics (issue #5).
