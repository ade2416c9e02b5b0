module github.com/spire-aws-iid/test/hcl-oracle

go 1.26

// v1.0.0: the release Debian's golang-github-hashicorp-hcl-dev packaged, which src/hcl was
// built against. SPIRE itself pins v1.0.1-vault-7, which differs: errors inside an object body
// are no longer swallowed (`x { a = }` is an error), repeated blocks decoded into a struct
// pointer merge, and hcl/parser.Parse refuses duplicate keys. Moving here to vault-7 makes 5
// oracle cases fail until src/hcl follows.
require github.com/hashicorp/hcl v1.0.0
