SELECT * FROM docs WHERE vector NEAR_FUSED [$a, $b] AND lang = 'en'
