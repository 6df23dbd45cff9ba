UPDATE docs SET archived = TRUE
