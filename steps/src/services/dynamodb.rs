//! What both 01-dynamodb and `deployer dev`'s local tables give DynamoDB for a table of the settings.

use aws_sdk_dynamodb::types::{Projection, ProjectionType};

use crate::settings::IndexProjection;

/// An index's projection as CreateTable and UpdateTable take it: `ALL`, `KEYS_ONLY`, or the listed
/// attributes (`INCLUDE`).
pub fn projection(projection: &IndexProjection) -> Projection {
    match projection {
        IndexProjection::Kind(kind) => {
            Projection::builder().projection_type(ProjectionType::from(kind.as_str())).build()
        }
        IndexProjection::Include(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.clone()))
            .build(),
    }
}
