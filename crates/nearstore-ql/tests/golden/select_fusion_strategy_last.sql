SELECT * FROM docs WHERE vector NEAR $v USING FUSION (k = 60, strategy = weighted)
