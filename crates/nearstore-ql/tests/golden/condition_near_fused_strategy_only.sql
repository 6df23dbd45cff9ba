SELECT * FROM docs WHERE vector NEAR_FUSED [$a] USING FUSION 'maximum'
