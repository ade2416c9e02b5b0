"tokens" = ["a"]

"challenge" = false