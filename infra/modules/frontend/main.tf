# A static front end (the worker app's assets): a private S3 bucket served only through
# CloudFront with origin access control, HTTPS only, modern TLS.

variable "name" {
  description = "Name prefix, e.g. gigcover-prod-app."
  type        = string
}

variable "aliases" {
  description = "The app's host names (e.g. app.gigcover.example)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "An ACM certificate in us-east-1 for the aliases."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_18:static assets only, read through CloudFront; no per-bucket access logs
  #checkov:skip=CKV_AWS_144:static assets are rebuilt from the repository; no replication needed
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events
  #checkov:skip=CKV_AWS_145:public static assets: SSE-S3 suffices and CloudFront OAC reads them without KMS grants
  #checkov:skip=CKV2_AWS_61:assets are replaced on each release; versions expire with the bucket's versioning rules set by the release job
  bucket = var.name
  tags   = var.tags
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = var.name
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "security" {
  name = "${var.name}-security"
  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "site" {
  #checkov:skip=CKV_AWS_68:the WAF web ACL is attached by the organization's Firewall Manager policy, outside this repository
  #checkov:skip=CKV2_AWS_47:the WAF web ACL (with AWSManagedRulesKnownBadInputsRuleSet) comes from Firewall Manager
  #checkov:skip=CKV_AWS_86:static assets without user data; standard logs are not kept
  #checkov:skip=CKV_AWS_374:gig workers use the app from any country
  #checkov:skip=CKV_AWS_310:one S3 origin; S3's regional availability suffices for static assets
  enabled             = true
  default_root_object = "index.html"
  origin {
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_id                = "site"
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }
  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  aliases = var.aliases
  viewer_certificate {
    acm_certificate_arn      = var.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }
  tags = var.tags
}

data "aws_iam_policy_document" "site" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.site.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = data.aws_iam_policy_document.site.json
}

output "domain_name" {
  description = "The distribution's domain."
  value       = aws_cloudfront_distribution.site.domain_name
}
