# Trust an extra AWS certificate without a new release, e.g. for a region AWS opened after this
# build. Copy the PEM from AWS's "Verify the instance identity document" page for the region.
# Read at configure time; repeat the block per region/kind.
aws_certificate {
  region   = "ap-southeast-7"
  kind     = "rsa2048"          # rsa2048 (/rsa2048 PKCS#7), rsa (/signature) or dsa (/pkcs7)
  pem_path = "/etc/spire/aws-certs/ap-southeast-7-rsa2048.pem"
}
