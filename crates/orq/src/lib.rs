//! The orq.ai Deployments SDK.
