# note
tokens = ["a", "b"]

challenge = true

tofu = true

nested {
  a = 1
}