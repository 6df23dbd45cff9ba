SELECT * FROM docs WHERE vector NEAR_FUSED [$a, $b, [0.5, 0.25]] USING FUSION 'rrf' (k = 60) LIMIT 5
