//! Adapters of this crate: the embedded store and queue, and token keys on local disk. (DynamoDB and SQS live in the sibling
//! crate `mkpf-aws`, so this crate builds without the AWS SDK.)

pub mod embedded;
pub mod local_keys;
pub mod local_sealer;
pub mod private_fs;
